"""Chinese (简体中文) translations of the studio's English UI strings.

Keys are the exact English source strings passed to ``tr()``; see studio/i18n.py.
"""

from __future__ import annotations

from engine.generate.animatic_text import ANGLE_NAMES_ZH, MOVE_NAMES_ZH, SIZE_NAMES_ZH

# Shot sizes, camera moves and angles: the names the engine draws on animatic badges, so
# the storyboard, inspector and the rendered frames say the same thing.
ENUM_ZH: dict[str, str] = {str(member): name for table in (SIZE_NAMES_ZH, MOVE_NAMES_ZH,
                                                            ANGLE_NAMES_ZH)
                           for member, name in table.items()}

ZH: dict[str, str] = {
    # team review
    "Nobody": "无人", "Write a note…": "写一条批注…", "No timecode": "不指定时间点",
    "Add note": "添加批注", "Review status": "审片状态", "Assigned to": "负责人",
    "Status unchanged": "状态不变", "{user} has this shot open": "{user} 正在编辑这个镜头",
    "todo": "待办", "wip": "制作中", "retake": "返工", "Review": "审片", "review": "待审",
    "Notes": "批注", "{n} notes": "{n} 条批注", "Show": "显示", "Any status": "全部状态",
    "Anyone": "所有人", "Changed by someone else": "已被他人修改",
    "Reload what the window shows?": "重新载入窗口中的内容？",
    # menus and actions
    "&File": "文件(&F)", "&Edit": "编辑(&E)", "&Story": "故事(&S)", "&View": "视图(&V)",
    "New project…": "新建项目…", "Open project…": "打开项目…", "Save": "保存",
    "Close project": "关闭项目", "Preferences…": "偏好设置…", "Quit": "退出",
    "Import script…": "导入剧本…", "Import script": "导入剧本", "Plan shots": "规划分镜",
    "Add shot": "添加镜头", "Duplicate": "复制", "Delete": "删除",
    "Generate selected": "生成所选镜头", "Export…": "导出…", "Export": "导出",
    "Export film": "导出影片", "Cancel task": "取消任务", "Cancel": "取消",
    "Undo": "撤销", "Redo": "重做", "Main": "主工具栏",
    # tabs and docks
    "Script": "剧本", "Storyboard": "分镜板", "Cast": "角色", "Timeline": "时间线",
    "Shot inspector": "镜头检查器", "Preview": "预览",
    # series: episodes and locations
    "Episodes": "分集", "Episode": "集", "Shots": "镜头数", "Length": "时长",
    "{n} episodes · {length} in all": "共 {n} 集 · 总时长 {length}",
    "Locations": "场景地点", "Description (added to the prompts of its shots)":
    "描述（写入在此拍摄的镜头提示词）", "Apply": "应用", "Reference images…": "参考图…",
    "Images (*.png *.jpg *.jpeg *.webp)": "图片 (*.png *.jpg *.jpeg *.webp)",
    "No locations yet: they come from the scene headings.":
    "还没有场景地点：导入剧本后按场次标题生成。",
    "Scenes: {list}": "场次：{list}",
    # start page
    "Script → storyboard → cast → generate → review → export":
        "剧本 → 分镜 → 角色 → 生成 → 审片 → 导出",
    "New project": "新建项目", "Title": "标题", "Aspect": "画幅", "Language": "语言",
    "Location": "位置", "Browse…": "浏览…", "Create project": "创建项目",
    "Recent projects": "最近的项目", "No recent projects yet.": "还没有最近的项目。",
    "My short drama": "我的短剧", "Untitled": "未命名",
    "9:16 vertical (Douyin, Kuaishou)": "9:16 竖屏（抖音、快手）",
    "16:9 horizontal": "16:9 横屏", "1:1 square": "1:1 方形",
    "Where to create the project": "项目保存位置",
    "Open a .storyreel project folder": "打开 .storyreel 项目文件夹",
    # script editor
    "No script yet? Describe the story idea, then Plan shots":
        "还没有剧本？写下故事创意，再点“规划分镜”",
    "Apply text": "应用文本", "Parse the text into scenes and shots": "把文本解析为场次和镜头",
    "Paste or type a script here: 第1场 日 内 咖啡馆 … or INT. CAFE - DAY …":
        "在此粘贴或输入剧本：第1场 日 内 咖啡馆 … 或 INT. CAFE - DAY …",
    "Apply the edited script text before planning shots.": "请先应用修改过的剧本文本，再规划分镜。",
    "Script imported.": "剧本已导入。", "Shots planned.": "分镜已规划。",
    "Edit script": "编辑剧本",
    # storyboard
    "Scene": "场次", "Shot": "镜头", "Scene 1": "第1场", "stale": "过期",
    "drift": "走样", "no face": "无人脸", "n/a": "不适用",
    "Identity": "角色一致性", "threshold": "阈值", "Worst frame": "最差帧",
    "Identity: not scored yet": "角色一致性：尚未评分",
    "Identity: not applicable": "角色一致性：不适用",
    "Identity: not applicable (animatic figures have no faces)":
        "角色一致性：不适用（动态分镜的人偶没有面部）",
    "Identity: no face found in this take": "角色一致性：此镜次中未找到人脸",
    "takes": "条", "take": "条",
    "Add a shot to this scene": "向本场添加镜头",
    "No scenes yet. Import or write a script, then Plan shots — or add a shot with the + "
    "button.": "还没有场次。导入或编写剧本，然后规划分镜——或用 + 按钮添加镜头。",
    "Reorder shots": "调整镜头顺序", "Duplicate shots": "复制镜头",
    "Delete shot": "删除镜头", "Delete shots": "删除镜头",
    # statuses, kinds, enum values
    "draft": "草稿", "ready": "就绪", "queued": "排队中", "generating": "生成中",
    "generated": "已生成", "approved": "已通过", "animatic": "动态分镜", "imported": "导入",
    # (shot sizes, camera moves and angles come from the engine: ENUM_ZH below)
    "Animatic (CPU)": "动态分镜（CPU）",
    # line kinds (engine.model.LineKind), job kinds and job statuses
    "dialogue": "对白", "voice-over": "画外音", "off-screen": "画外", "narration": "旁白",
    "Kind": "类型", "Edit line kind": "修改台词类型",
    "running": "运行中", "done": "完成", "failed": "失败", "generate": "生成",
    "voice": "配音", "export": "导出", "plan": "分镜规划", "score": "一致性评分",
    # help
    "&Help": "帮助(&H)", "Keyboard shortcuts": "键盘快捷键", "Keyboard shortcuts…": "键盘快捷键…",
    "Command": "命令", "Keys": "按键", "Play / pause the preview": "播放/暂停预览",
    "Back one second / pause / play (preview)": "后退一秒 / 暂停 / 播放（预览）",
    "Show the Script tab": "显示剧本页", "Show the Storyboard tab": "显示分镜板页",
    "Show the Cast tab": "显示角色页", "Show the Timeline tab": "显示时间线页",
    "Shot inspector panel": "镜头检查器面板", "Preview panel": "预览面板",
    "Jobs panel": "任务面板",
    # inspector
    "No shot selected": "未选择镜头", "Size": "景别", "Angle": "角度", "Camera": "运镜",
    "Duration": "时长", "Status": "状态", "Action": "动作", "Narration": "旁白",
    "Characters in frame": "画面中的角色", "Dialogue": "对白", "Speaker": "说话人",
    "Line": "台词", "Emotion": "情绪", "Add line": "添加台词", "Remove line": "删除台词",
    "Prompt": "提示词", "Composed": "自动生成", "Override": "自定义", "Negative": "反向提示词",
    "Your own prompt (wins when not empty)": "你自己的提示词（不为空时优先）",
    "Recompose": "重新生成提示词",
    "Compose the prompt again from the shot's fields": "根据镜头字段重新组合提示词",
    "First frame…": "首帧…", "Last frame…": "尾帧…", "Keyframes": "关键帧",
    "An image the clip starts or ends on (right-click clears; drop an image on the "
    "inspector: first frame, with Shift: last frame)":
        "片段开始或结束时的画面（右键清除；把图片拖到检查器上：设为首帧，按住 Shift：设为尾帧）",
    "Keep when re-planning": "重新规划时保留",
    "Re-importing or re-planning the script leaves this shot as it is":
        "重新导入或规划剧本时不改动这个镜头",
    "Keep shot": "保留镜头", "Set keyframe": "设置关键帧", "Clear keyframe": "清除关键帧",
    "Generation": "生成", "Seed": "种子", "random": "随机", "Lock": "锁定", "Model": "模型",
    "Generate": "生成", "Takes": "版本", "Play": "播放", "Approve": "通过", "Compare": "对比",
    "Edit shot size": "修改景别", "Edit camera angle": "修改角度", "Edit camera move": "修改运镜",
    "Edit shot duration": "修改镜头时长", "Edit shot action": "修改镜头动作",
    "Edit narration": "修改旁白", "Edit prompt override": "修改自定义提示词",
    "Edit negative prompt": "修改反向提示词", "Lock seed": "锁定种子", "Unlock seed": "解锁种子",
    "Edit seed": "修改种子", "Choose model": "选择模型",
    "Edit characters in frame": "修改画面中的角色", "Edit dialogue": "修改对白",
    "Add dialogue line": "添加台词", "Remove dialogue line": "删除台词",
    "Approve take": "通过版本", "Select one take to approve.": "请选择一个版本来通过。",
    "Select two takes to compare.": "请选择两个版本进行对比。",
    "Keyframe": "关键帧",
    "Use the frame the preview shows (or a keyframe model's image) as this shot's first or "
    "last frame": "把预览中显示的这一帧（或关键帧模型生成的图片）用作这个镜头的首帧或尾帧",
    "Use this frame as first keyframe": "用这一帧作首帧关键帧",
    "Use this frame as last keyframe": "用这一帧作尾帧关键帧",
    "Use the take's keyframe image": "使用这个版本的关键帧图片",
    "Select a shot first.": "请先选择一个镜头。",
    "Select one take to use a frame of it.": "请只选择一个版本来使用它的画面。",
    "Play the take in the preview and pause on the frame to use; then choose this again.":
        "请在预览中播放这个版本，停在要用的那一帧上，然后再选一次。",
    "Takes: ": "版本数：",
    "How many takes to make, each with its own seed": "要生成几个版本，每个版本用各自的种子",
    "Re-roll (new seed)": "重新生成（新种子）",
    "The shot has an up-to-date take: make a new one with a fresh seed":
        "这个镜头已有最新的版本：用新的种子再生成一个",
    "Make a take of this shot": "为这个镜头生成一个版本",
    "short take · slowed": "素材偏短 · 慢放",
    "short take · held": "素材偏短 · 定格",
    "Hold the last frame": "定格最后一帧",
    "Slow it to fit": "放慢以填满",
    "When the take is shorter than the shot": "素材比镜头短时",
    "Choose short-take fill": "选择短素材填充方式",
    "Start from the previous shot's last frame": "从上一镜头的最后一帧开始",
    "For match cuts: the take starts where the previous shot's current take ends":
        "用于匹配剪辑：素材从上一镜头当前素材结束的画面开始",
    "Continue from previous shot": "接续上一镜头",
    "Short take": "短素材",
    "Choose a sherpa-onnx voice folder (Browse…).": "请选择一个 sherpa-onnx 声音文件夹（浏览…）。",
    "Select one take to use its keyframe.": "请选择一个版本来使用它的关键帧。",
    "Media file:": "媒体文件：",
    # cast
    "Add character": "添加角色", "Character sheet": "角色设定", "Name": "姓名",
    "Age": "年龄", "Gender": "性别", "Appearance": "外貌", "Costume": "服装",
    "Personality": "性格", "Description": "简介",
    "Reference images (drop image files here)": "参考图（把图片文件拖到这里）",
    "Reference images": "参考图", "Images": "图片", "Add images…": "添加图片…",
    "Remove image": "移除图片", "Voice": "声音", "Project default": "项目默认",
    "Engine": "引擎", "Speed": "语速", "Pitch": "音调", "Play sample": "试听",
    "Synthesizing…": "正在合成…", "Playing": "正在播放",
    "Sample written to": "试听音频已写入",
    "A character needs a name.": "角色需要一个名字。",
    "Another character is already called that.": "已有同名角色。",
    "Add or select a character first.": "请先添加或选择一个角色。",
    "Add reference images": "添加参考图", "Remove reference image": "移除参考图",
    "Edit character": "修改角色", "Rename character": "重命名角色",
    "Delete character": "删除角色", "Edit voice": "修改声音",
    "Pick a piper .onnx model or a sherpa-onnx voice folder":
    "选择 piper .onnx 模型或 sherpa-onnx 声音文件夹", "Narrator (voice only)": "旁白（仅声音）",
    "The voice that reads narration and 旁白 lines": "朗读旁白和画外音的声音",
    "sherpa-onnx voice folder": "sherpa-onnx 声音文件夹", "piper voice model": "piper 声音模型",
    "piper models": "piper 模型", "Edit narrator voice": "修改旁白声音",
    # preferences
    "Preferences": "偏好设置", "Interface": "界面", "Follow the system": "跟随系统",
    "Shot planner (LLM)": "分镜规划（大语言模型）", "Automatic": "自动",
    "No LLM (rules only)": "不用大模型（仅规则）", "OpenAI-compatible server": "OpenAI 兼容服务",
    "Local model folder": "本地模型文件夹", "Mode": "模式", "Server URL": "服务地址",
    "Model name": "模型名称", "Model folder": "模型文件夹",
    # window messages
    "Storyreel": "Storyreel", "Saved.": "已保存。", "Recover project": "恢复项目",
    "Storyreel did not close cleanly last time. Every edit was saved as it was made. "
    "Restore the last autosave snapshot instead? (No keeps the current state.)":
        "Storyreel 上次没有正常关闭。每次编辑都已即时保存。要改为恢复最近的自动保存快照吗？"
        "（选“否”保留当前状态。）",
    "The project was not closed cleanly last time; every committed edit is kept.":
        "项目上次没有正常关闭；所有已提交的编辑都保留了。",
    "Restored the last autosave snapshot.": "已恢复最近的自动保存快照。",
    "Repair project": "修复项目",
    "Restore that backup now? The damaged file is kept beside it, so nothing is lost.":
        "现在恢复该备份吗？损坏的文件会保留在旁边，不会丢失任何内容。",
    "Restored the newest good backup; the damaged file is kept.":
        "已恢复最新的完好备份；损坏的文件已保留。",
    "This project is also open in another Storyreel window (process":
        "此项目也在另一个 Storyreel 窗口中打开（进程",
    "Wait for the running task to finish, or cancel it.": "请等待正在运行的任务完成，或取消它。",
    "Select one or more shots to generate.": "请选择要生成的镜头。",
    "Queued generation of": "已排队生成", "shots": "个镜头", "cancelled": "已取消",
    "Exported": "已导出",
}

# Strings of the other studio widgets (jobs dock, timeline, export dialog, player, take
# comparison). They call self.tr() with their class as context; the dict translator
# answers for any context.
ZH_WIDGETS: dict[str, str] = {
    "AI-content label": "AI 生成内容标识",
    "Approved takes that drifted from the cast's reference images (exported as they are):":
        "以下已通过的镜次与角色参考图不一致（仍按原样导出）：",
    "Add music {name}": "添加音乐 {name}",
    "Add music…": "添加音乐…",
    "Approve this take": "通过这个版本", "Approved": "已通过",
    "Audio (*.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus)":
        "音频 (*.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus)",
    "Backend": "后端", "Both takes must belong to the same shot.": "两个版本必须属于同一个镜头。",
    "Burn subtitles into the picture": "把字幕烧录进画面", "Cancelling…": "正在取消…",
    "Choose where to save the film.": "请选择影片的保存位置。", "Choose…": "选择…",
    "Clear finished": "清除已完成", "Close": "关闭", "Compare takes": "对比版本",
    "Compare two different takes.": "请对比两个不同的版本。",
    "Crossfade into this shot (0.5 s)": "交叉淡化进入本镜头（0.5 秒）",
    "Cut into this shot": "直接切入本镜头",
    "Dip to black into this shot (0.5 s)": "黑场过渡进入本镜头（0.5 秒）",
    "Drag clip edges to trim; drag music to move it.": "拖动片段边缘可修剪；拖动音乐可移动。",
    "Export cancelled; no file was written.": "导出已取消，没有写入文件。",
    "Export failed": "导出失败", "Export finished.": "导出完成。",
    "Exporting…": "正在导出…",
    "Fit": "适应", "From the start": "从头开始", "Hide finished": "隐藏已完成", "Jobs": "任务",
    "Made": "生成于", "Move music": "移动音乐",
    "No jobs yet. Generate a shot to add one.": "还没有任务。生成一个镜头即可添加。",
    "No picture to show in {name}": "{name} 中没有画面", "No video loaded": "未加载视频",
    "Output file": "输出文件", "Pause both": "同时暂停", "Pause": "暂停", "Play both": "同时播放",
    "Play/pause the preview (Space)": "播放/暂停预览（空格）", "Preset": "预设",
    "Preview cut": "预览成片", "Preview has no sound; the exported film has.":
        "预览没有声音；导出的影片有声音。",
    "Preview shot": "预览镜头", "Ready.": "就绪。",
    "Remove done and cancelled jobs from the list": "从列表中移除已完成和已取消的任务",
    "Remove music": "移除音乐", "Reset trims": "重置修剪", "Retry": "重试",
    "Select a clip first.": "请先选择一个片段。", "Start worker": "启动后台进程",
    "Steps": "步数", "Stop worker": "停止后台进程", "Take A": "版本 A", "Take B": "版本 B",
    "The timeline is not available yet.": "时间线暂不可用。",
    "This shot has no take to preview yet.": "这个镜头还没有可预览的版本。",
    "Trim shot {label}": "修剪镜头 {label}", "Videos (*.mp4 *.mov *.mkv)":
        "视频 (*.mp4 *.mov *.mkv)",
    "Worker: running": "后台进程：运行中", "Worker: stopped": "后台进程：已停止",
    "Write an OTIO timeline (for Resolve, Premiere, Kdenlive)":
        "写出 OTIO 时间线（用于 Resolve、Premiere、Kdenlive）",
    "Write an SRT subtitle file": "写出 SRT 字幕文件", "Zoom in": "放大", "Zoom out": "缩小",
    "{n} queued · {m} running": "{n} 个排队 · {m} 个运行中",
    "{percent}% · about {eta} left": "{percent}% · 约剩 {eta}",
    "Visible mark and metadata": "可见标识和元数据", "Visible mark only": "仅可见标识",
    "Metadata only": "仅元数据", "No label": "不加标识",
}

ZH.update(ENUM_ZH)

ALL_ZH: dict[str, str] = {**ZH_WIDGETS, **ZH}


# Progress messages the engine writes (in English, for the CLI and logs), shown in the
# GUI's jobs dock, status bar and export dialog: (full-match pattern, replacement).
ENGINE_ZH: list[tuple[str, str]] = [
    (r"queued", "排队中"), (r"cached", "已缓存，无需重算"), (r"done", "完成"),
    (r"failed", "失败"), (r"cancelled", "已取消"), (r"Cancelled by the user\.", "已被用户取消。"),
    (r"segment (\d+)/(\d+), step (\d+)/(\d+)", r"第 \1/\2 段，第 \3/\4 步"),
    (r"step (\d+)/(\d+)", r"第 \1/\2 步"), (r"[Ff]rame (\d+)/(\d+)", r"第 \1/\2 帧"),
    (r"Loading (.+)", r"正在加载 \1"), (r"encoding", "正在编码"),
    (r"Drawing the storyboard frame", "正在绘制分镜画面"), (r"Animatic done", "动态分镜完成"),
    (r"exported (.+)", r"已导出 \1"), (r"written", "已写入"),
    (r"Mixing audio", "正在混音"), (r"Normalizing loudness", "正在标准化响度"),
    (r"Mix at (-?[\d.]+) LUFS", r"混音响度 \1 LUFS"),
    (r"Voicing (.*)", r"正在配音：\1"), (r"Timing shots to their lines", "按台词调整镜头时长"),
    (r"(\d+) line\(s\) voiced, (\d+) reused", r"已配音 \1 句，复用 \2 句"),
    (r"Choosing a language model", "正在选择语言模型"),
    (r"Reading the script", "正在读取剧本"), (r"Script imported", "剧本已导入"),
    (r"Importing scene (\d+)/(\d+)", r"正在导入第 \1/\2 场"),
    (r"Saving (\d+) scenes", r"正在保存 \1 场"), (r"Imported (\d+) scenes", r"已导入 \1 场"),
    (r"Writing the script from the idea", "正在根据创意写剧本"),
    (r"Planning shots of scene (\d+)", r"正在规划第 \1 场的镜头"),
    (r"Saving the plan", "正在保存规划"), (r"script and cast imported", "剧本与角色已导入"),
    (r"Writing the characters' looks in English", "正在把角色外貌与服装写成英文"),
    (r"music bed placed under the whole film", "背景音乐已铺满全片"),
    (r"Planned (\d+) shots in (\d+) scenes", r"已规划 \2 场共 \1 个镜头"),
    (r"Exported (\d+) episodes", r"已导出 \1 集"), (r"Episode (\d+)", r"第 \1 集"),
    (r"Scoring faces: frame (\d+)/(\d+)", r"正在比对面部：第 \1/\2 帧"),
    (r"Reading reference faces", "正在读取参考图中的面部"),
    (r"Identity scored", "角色一致性评分完成"),
    (r"Identity does not apply", "不适用角色一致性评分"),
]

# The names of engine operations (engine/ops), as the Undo/Redo actions and the history
# show them; the most specific pattern comes first ("Edit (.+)" names a character).
OP_LABEL_ZH: list[tuple[str, str]] = [
    (r"Add shot", "添加镜头"), (r"Duplicate shots?", "复制镜头"), (r"Delete shots?", "删除镜头"),
    (r"Reorder shots", "调整镜头顺序"), (r"Move shots", "移动镜头"),
    (r"Move shot (.+)", r"移动镜头 \1"), (r"Edit prompt of shot (.+)", r"修改镜头 \1 的提示词"),
    (r"Edit shot (.+)", r"修改镜头 \1"), (r"Edit clip of shot (.+)", r"修改镜头 \1 的剪辑"),
    (r"Set keyframe of shot (.+)", r"设置镜头 \1 的关键帧"),
    (r"First keyframe of shot (.+)", r"设置镜头 \1 的首帧关键帧"),
    (r"Last keyframe of shot (.+)", r"设置镜头 \1 的尾帧关键帧"),
    (r"Clear keyframe of shot (.+)", r"清除镜头 \1 的关键帧"),
    (r"Recompose prompts", "重新组合提示词"), (r"Use keyframe", "使用关键帧"),
    (r"Import take for shot (.+)", r"为镜头 \1 导入版本"),
    (r"Approve take of shot (.+)", r"通过镜头 \1 的版本"), (r"Delete take", "删除版本"),
    (r"Add scene (\d+)", r"添加第 \1 场"), (r"Edit scene (\d+)", r"修改第 \1 场"),
    (r"Delete scene (\d+)", r"删除第 \1 场"), (r"Reorder scenes", "调整场次顺序"),
    (r"Add music (.+)", r"添加音乐 \1"), (r"Add sound (.+)", r"添加音效 \1"),
    (r"Edit music", "修改音乐"), (r"Edit effects", "修改音效"),
    (r"Remove music", "移除音乐"), (r"Remove effects", "移除音效"),
    (r"Edit project", "修改项目"), (r"Queue generation", "排队生成"),
    (r"Add character (.+)", r"添加角色 \1"), (r"Delete character (.+)", r"删除角色 \1"),
    (r"Add reference images of (.+)", r"添加 \1 的参考图"),
    (r"Edit voice of (.+)", r"修改 \1 的声音"), (r"Edit (.+)", r"修改 \1"),
]
ENGINE_ZH += OP_LABEL_ZH
