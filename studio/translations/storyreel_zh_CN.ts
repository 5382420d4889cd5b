<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context><name>Storyreel</name>
<message><source>Nobody</source><translation>无人</translation></message>
<message><source>Write a note…</source><translation>写一条批注…</translation></message>
<message><source>No timecode</source><translation>不指定时间点</translation></message>
<message><source>Add note</source><translation>添加批注</translation></message>
<message><source>Review status</source><translation>审片状态</translation></message>
<message><source>Assigned to</source><translation>负责人</translation></message>
<message><source>Status unchanged</source><translation>状态不变</translation></message>
<message><source>{user} has this shot open</source><translation>{user} 正在编辑这个镜头</translation></message>
<message><source>todo</source><translation>待办</translation></message>
<message><source>wip</source><translation>制作中</translation></message>
<message><source>retake</source><translation>返工</translation></message>
<message><source>Review</source><translation>审片</translation></message>
<message><source>review</source><translation>待审</translation></message>
<message><source>Notes</source><translation>批注</translation></message>
<message><source>{n} notes</source><translation>{n} 条批注</translation></message>
<message><source>Show</source><translation>显示</translation></message>
<message><source>Any status</source><translation>全部状态</translation></message>
<message><source>Anyone</source><translation>所有人</translation></message>
<message><source>Changed by someone else</source><translation>已被他人修改</translation></message>
<message><source>Reload what the window shows?</source><translation>重新载入窗口中的内容？</translation></message>
<message><source>&amp;File</source><translation>文件(&amp;F)</translation></message>
<message><source>&amp;Edit</source><translation>编辑(&amp;E)</translation></message>
<message><source>&amp;Story</source><translation>故事(&amp;S)</translation></message>
<message><source>&amp;View</source><translation>视图(&amp;V)</translation></message>
<message><source>New project…</source><translation>新建项目…</translation></message>
<message><source>Open project…</source><translation>打开项目…</translation></message>
<message><source>Save</source><translation>保存</translation></message>
<message><source>Close project</source><translation>关闭项目</translation></message>
<message><source>Preferences…</source><translation>偏好设置…</translation></message>
<message><source>Quit</source><translation>退出</translation></message>
<message><source>Import script…</source><translation>导入剧本…</translation></message>
<message><source>Import script</source><translation>导入剧本</translation></message>
<message><source>Plan shots</source><translation>规划分镜</translation></message>
<message><source>Add shot</source><translation>添加镜头</translation></message>
<message><source>Duplicate</source><translation>复制</translation></message>
<message><source>Delete</source><translation>删除</translation></message>
<message><source>Generate selected</source><translation>生成所选镜头</translation></message>
<message><source>Export…</source><translation>导出…</translation></message>
<message><source>Export</source><translation>导出</translation></message>
<message><source>Export film</source><translation>导出影片</translation></message>
<message><source>Cancel task</source><translation>取消任务</translation></message>
<message><source>Cancel</source><translation>取消</translation></message>
<message><source>Undo</source><translation>撤销</translation></message>
<message><source>Redo</source><translation>重做</translation></message>
<message><source>Main</source><translation>主工具栏</translation></message>
<message><source>Script</source><translation>剧本</translation></message>
<message><source>Storyboard</source><translation>分镜板</translation></message>
<message><source>Cast</source><translation>角色</translation></message>
<message><source>Timeline</source><translation>时间线</translation></message>
<message><source>Shot inspector</source><translation>镜头检查器</translation></message>
<message><source>Preview</source><translation>预览</translation></message>
<message><source>Episodes</source><translation>分集</translation></message>
<message><source>Episode</source><translation>集</translation></message>
<message><source>Shots</source><translation>镜头数</translation></message>
<message><source>Length</source><translation>时长</translation></message>
<message><source>{n} episodes · {length} in all</source><translation>共 {n} 集 · 总时长 {length}</translation></message>
<message><source>Locations</source><translation>场景地点</translation></message>
<message><source>Description (added to the prompts of its shots)</source><translation>描述（写入在此拍摄的镜头提示词）</translation></message>
<message><source>Apply</source><translation>应用</translation></message>
<message><source>Reference images…</source><translation>参考图…</translation></message>
<message><source>Images (*.png *.jpg *.jpeg *.webp)</source><translation>图片 (*.png *.jpg *.jpeg *.webp)</translation></message>
<message><source>No locations yet: they come from the scene headings.</source><translation>还没有场景地点：导入剧本后按场次标题生成。</translation></message>
<message><source>Scenes: {list}</source><translation>场次：{list}</translation></message>
<message><source>Script → storyboard → cast → generate → review → export</source><translation>剧本 → 分镜 → 角色 → 生成 → 审片 → 导出</translation></message>
<message><source>New project</source><translation>新建项目</translation></message>
<message><source>Title</source><translation>标题</translation></message>
<message><source>Aspect</source><translation>画幅</translation></message>
<message><source>Language</source><translation>语言</translation></message>
<message><source>Location</source><translation>位置</translation></message>
<message><source>Browse…</source><translation>浏览…</translation></message>
<message><source>Create project</source><translation>创建项目</translation></message>
<message><source>Recent projects</source><translation>最近的项目</translation></message>
<message><source>No recent projects yet.</source><translation>还没有最近的项目。</translation></message>
<message><source>My short drama</source><translation>我的短剧</translation></message>
<message><source>Untitled</source><translation>未命名</translation></message>
<message><source>9:16 vertical (Douyin, Kuaishou)</source><translation>9:16 竖屏（抖音、快手）</translation></message>
<message><source>16:9 horizontal</source><translation>16:9 横屏</translation></message>
<message><source>1:1 square</source><translation>1:1 方形</translation></message>
<message><source>Where to create the project</source><translation>项目保存位置</translation></message>
<message><source>Open a .storyreel project folder</source><translation>打开 .storyreel 项目文件夹</translation></message>
<message><source>No script yet? Describe the story idea, then Plan shots</source><translation>还没有剧本？写下故事创意，再点“规划分镜”</translation></message>
<message><source>Apply text</source><translation>应用文本</translation></message>
<message><source>Parse the text into scenes and shots</source><translation>把文本解析为场次和镜头</translation></message>
<message><source>Paste or type a script here: 第1场 日 内 咖啡馆 … or INT. CAFE - DAY …</source><translation>在此粘贴或输入剧本：第1场 日 内 咖啡馆 … 或 INT. CAFE - DAY …</translation></message>
<message><source>Apply the edited script text before planning shots.</source><translation>请先应用修改过的剧本文本，再规划分镜。</translation></message>
<message><source>Script imported.</source><translation>剧本已导入。</translation></message>
<message><source>Shots planned.</source><translation>分镜已规划。</translation></message>
<message><source>Edit script</source><translation>编辑剧本</translation></message>
<message><source>Scene</source><translation>场次</translation></message>
<message><source>Shot</source><translation>镜头</translation></message>
<message><source>Scene 1</source><translation>第1场</translation></message>
<message><source>stale</source><translation>过期</translation></message>
<message><source>drift</source><translation>走样</translation></message>
<message><source>no face</source><translation>无人脸</translation></message>
<message><source>n/a</source><translation>不适用</translation></message>
<message><source>Identity</source><translation>角色一致性</translation></message>
<message><source>threshold</source><translation>阈值</translation></message>
<message><source>Worst frame</source><translation>最差帧</translation></message>
<message><source>Identity: not scored yet</source><translation>角色一致性：尚未评分</translation></message>
<message><source>Identity: not applicable</source><translation>角色一致性：不适用</translation></message>
<message><source>Identity: not applicable (animatic figures have no faces)</source><translation>角色一致性：不适用（动态分镜的人偶没有面部）</translation></message>
<message><source>Identity: no face found in this take</source><translation>角色一致性：此镜次中未找到人脸</translation></message>
<message><source>takes</source><translation>条</translation></message>
<message><source>take</source><translation>条</translation></message>
<message><source>Add a shot to this scene</source><translation>向本场添加镜头</translation></message>
<message><source>No scenes yet. Import or write a script, then Plan shots — or add a shot with the + button.</source><translation>还没有场次。导入或编写剧本，然后规划分镜——或用 + 按钮添加镜头。</translation></message>
<message><source>Reorder shots</source><translation>调整镜头顺序</translation></message>
<message><source>Duplicate shots</source><translation>复制镜头</translation></message>
<message><source>Delete shot</source><translation>删除镜头</translation></message>
<message><source>Delete shots</source><translation>删除镜头</translation></message>
<message><source>draft</source><translation>草稿</translation></message>
<message><source>ready</source><translation>就绪</translation></message>
<message><source>queued</source><translation>排队中</translation></message>
<message><source>generating</source><translation>生成中</translation></message>
<message><source>generated</source><translation>已生成</translation></message>
<message><source>approved</source><translation>已通过</translation></message>
<message><source>animatic</source><translation>动态分镜</translation></message>
<message><source>imported</source><translation>导入</translation></message>
<message><source>Animatic (CPU)</source><translation>动态分镜（CPU）</translation></message>
<message><source>dialogue</source><translation>对白</translation></message>
<message><source>voice-over</source><translation>画外音</translation></message>
<message><source>off-screen</source><translation>画外</translation></message>
<message><source>narration</source><translation>旁白</translation></message>
<message><source>Kind</source><translation>类型</translation></message>
<message><source>Edit line kind</source><translation>修改台词类型</translation></message>
<message><source>running</source><translation>运行中</translation></message>
<message><source>done</source><translation>完成</translation></message>
<message><source>failed</source><translation>失败</translation></message>
<message><source>generate</source><translation>生成</translation></message>
<message><source>voice</source><translation>配音</translation></message>
<message><source>export</source><translation>导出</translation></message>
<message><source>plan</source><translation>分镜规划</translation></message>
<message><source>score</source><translation>一致性评分</translation></message>
<message><source>&amp;Help</source><translation>帮助(&amp;H)</translation></message>
<message><source>Keyboard shortcuts</source><translation>键盘快捷键</translation></message>
<message><source>Keyboard shortcuts…</source><translation>键盘快捷键…</translation></message>
<message><source>Command</source><translation>命令</translation></message>
<message><source>Keys</source><translation>按键</translation></message>
<message><source>Play / pause the preview</source><translation>播放/暂停预览</translation></message>
<message><source>Back one second / pause / play (preview)</source><translation>后退一秒 / 暂停 / 播放（预览）</translation></message>
<message><source>Show the Script tab</source><translation>显示剧本页</translation></message>
<message><source>Show the Storyboard tab</source><translation>显示分镜板页</translation></message>
<message><source>Show the Cast tab</source><translation>显示角色页</translation></message>
<message><source>Show the Timeline tab</source><translation>显示时间线页</translation></message>
<message><source>Shot inspector panel</source><translation>镜头检查器面板</translation></message>
<message><source>Preview panel</source><translation>预览面板</translation></message>
<message><source>Jobs panel</source><translation>任务面板</translation></message>
<message><source>No shot selected</source><translation>未选择镜头</translation></message>
<message><source>Size</source><translation>景别</translation></message>
<message><source>Angle</source><translation>角度</translation></message>
<message><source>Camera</source><translation>运镜</translation></message>
<message><source>Duration</source><translation>时长</translation></message>
<message><source>Status</source><translation>状态</translation></message>
<message><source>Action</source><translation>动作</translation></message>
<message><source>Narration</source><translation>旁白</translation></message>
<message><source>Characters in frame</source><translation>画面中的角色</translation></message>
<message><source>Dialogue</source><translation>对白</translation></message>
<message><source>Speaker</source><translation>说话人</translation></message>
<message><source>Line</source><translation>台词</translation></message>
<message><source>Emotion</source><translation>情绪</translation></message>
<message><source>Add line</source><translation>添加台词</translation></message>
<message><source>Remove line</source><translation>删除台词</translation></message>
<message><source>Prompt</source><translation>提示词</translation></message>
<message><source>Composed</source><translation>自动生成</translation></message>
<message><source>Override</source><translation>自定义</translation></message>
<message><source>Negative</source><translation>反向提示词</translation></message>
<message><source>Your own prompt (wins when not empty)</source><translation>你自己的提示词（不为空时优先）</translation></message>
<message><source>Recompose</source><translation>重新生成提示词</translation></message>
<message><source>Compose the prompt again from the shot's fields</source><translation>根据镜头字段重新组合提示词</translation></message>
<message><source>First frame…</source><translation>首帧…</translation></message>
<message><source>Last frame…</source><translation>尾帧…</translation></message>
<message><source>Keyframes</source><translation>关键帧</translation></message>
<message><source>An image the clip starts or ends on (right-click clears; drop an image on the inspector: first frame, with Shift: last frame)</source><translation>片段开始或结束时的画面（右键清除；把图片拖到检查器上：设为首帧，按住 Shift：设为尾帧）</translation></message>
<message><source>Keep when re-planning</source><translation>重新规划时保留</translation></message>
<message><source>Re-importing or re-planning the script leaves this shot as it is</source><translation>重新导入或规划剧本时不改动这个镜头</translation></message>
<message><source>Keep shot</source><translation>保留镜头</translation></message>
<message><source>Set keyframe</source><translation>设置关键帧</translation></message>
<message><source>Clear keyframe</source><translation>清除关键帧</translation></message>
<message><source>Generation</source><translation>生成</translation></message>
<message><source>Seed</source><translation>种子</translation></message>
<message><source>random</source><translation>随机</translation></message>
<message><source>Lock</source><translation>锁定</translation></message>
<message><source>Model</source><translation>模型</translation></message>
<message><source>Generate</source><translation>生成</translation></message>
<message><source>Takes</source><translation>版本</translation></message>
<message><source>Play</source><translation>播放</translation></message>
<message><source>Approve</source><translation>通过</translation></message>
<message><source>Compare</source><translation>对比</translation></message>
<message><source>Edit shot size</source><translation>修改景别</translation></message>
<message><source>Edit camera angle</source><translation>修改角度</translation></message>
<message><source>Edit camera move</source><translation>修改运镜</translation></message>
<message><source>Edit shot duration</source><translation>修改镜头时长</translation></message>
<message><source>Edit shot action</source><translation>修改镜头动作</translation></message>
<message><source>Edit narration</source><translation>修改旁白</translation></message>
<message><source>Edit prompt override</source><translation>修改自定义提示词</translation></message>
<message><source>Edit negative prompt</source><translation>修改反向提示词</translation></message>
<message><source>Lock seed</source><translation>锁定种子</translation></message>
<message><source>Unlock seed</source><translation>解锁种子</translation></message>
<message><source>Edit seed</source><translation>修改种子</translation></message>
<message><source>Choose model</source><translation>选择模型</translation></message>
<message><source>Edit characters in frame</source><translation>修改画面中的角色</translation></message>
<message><source>Edit dialogue</source><translation>修改对白</translation></message>
<message><source>Add dialogue line</source><translation>添加台词</translation></message>
<message><source>Remove dialogue line</source><translation>删除台词</translation></message>
<message><source>Approve take</source><translation>通过版本</translation></message>
<message><source>Select one take to approve.</source><translation>请选择一个版本来通过。</translation></message>
<message><source>Select two takes to compare.</source><translation>请选择两个版本进行对比。</translation></message>
<message><source>Keyframe</source><translation>关键帧</translation></message>
<message><source>Use the frame the preview shows (or a keyframe model's image) as this shot's first or last frame</source><translation>把预览中显示的这一帧（或关键帧模型生成的图片）用作这个镜头的首帧或尾帧</translation></message>
<message><source>Use this frame as first keyframe</source><translation>用这一帧作首帧关键帧</translation></message>
<message><source>Use this frame as last keyframe</source><translation>用这一帧作尾帧关键帧</translation></message>
<message><source>Use the take's keyframe image</source><translation>使用这个版本的关键帧图片</translation></message>
<message><source>Select a shot first.</source><translation>请先选择一个镜头。</translation></message>
<message><source>Select one take to use a frame of it.</source><translation>请只选择一个版本来使用它的画面。</translation></message>
<message><source>Play the take in the preview and pause on the frame to use; then choose this again.</source><translation>请在预览中播放这个版本，停在要用的那一帧上，然后再选一次。</translation></message>
<message><source>Takes: </source><translation>版本数：</translation></message>
<message><source>How many takes to make, each with its own seed</source><translation>要生成几个版本，每个版本用各自的种子</translation></message>
<message><source>Re-roll (new seed)</source><translation>重新生成（新种子）</translation></message>
<message><source>The shot has an up-to-date take: make a new one with a fresh seed</source><translation>这个镜头已有最新的版本：用新的种子再生成一个</translation></message>
<message><source>Make a take of this shot</source><translation>为这个镜头生成一个版本</translation></message>
<message><source>short take · slowed</source><translation>素材偏短 · 慢放</translation></message>
<message><source>short take · held</source><translation>素材偏短 · 定格</translation></message>
<message><source>Hold the last frame</source><translation>定格最后一帧</translation></message>
<message><source>Slow it to fit</source><translation>放慢以填满</translation></message>
<message><source>When the take is shorter than the shot</source><translation>素材比镜头短时</translation></message>
<message><source>Choose short-take fill</source><translation>选择短素材填充方式</translation></message>
<message><source>Start from the previous shot's last frame</source><translation>从上一镜头的最后一帧开始</translation></message>
<message><source>For match cuts: the take starts where the previous shot's current take ends</source><translation>用于匹配剪辑：素材从上一镜头当前素材结束的画面开始</translation></message>
<message><source>Continue from previous shot</source><translation>接续上一镜头</translation></message>
<message><source>Short take</source><translation>短素材</translation></message>
<message><source>Choose a sherpa-onnx voice folder (Browse…).</source><translation>请选择一个 sherpa-onnx 声音文件夹（浏览…）。</translation></message>
<message><source>Select one take to use its keyframe.</source><translation>请选择一个版本来使用它的关键帧。</translation></message>
<message><source>Media file:</source><translation>媒体文件：</translation></message>
<message><source>Add character</source><translation>添加角色</translation></message>
<message><source>Character sheet</source><translation>角色设定</translation></message>
<message><source>Name</source><translation>姓名</translation></message>
<message><source>Age</source><translation>年龄</translation></message>
<message><source>Gender</source><translation>性别</translation></message>
<message><source>Appearance</source><translation>外貌</translation></message>
<message><source>Costume</source><translation>服装</translation></message>
<message><source>Personality</source><translation>性格</translation></message>
<message><source>Description</source><translation>简介</translation></message>
<message><source>Reference images (drop image files here)</source><translation>参考图（把图片文件拖到这里）</translation></message>
<message><source>Reference images</source><translation>参考图</translation></message>
<message><source>Images</source><translation>图片</translation></message>
<message><source>Add images…</source><translation>添加图片…</translation></message>
<message><source>Remove image</source><translation>移除图片</translation></message>
<message><source>Voice</source><translation>声音</translation></message>
<message><source>Project default</source><translation>项目默认</translation></message>
<message><source>Engine</source><translation>引擎</translation></message>
<message><source>Speed</source><translation>语速</translation></message>
<message><source>Pitch</source><translation>音调</translation></message>
<message><source>Play sample</source><translation>试听</translation></message>
<message><source>Synthesizing…</source><translation>正在合成…</translation></message>
<message><source>Playing</source><translation>正在播放</translation></message>
<message><source>Sample written to</source><translation>试听音频已写入</translation></message>
<message><source>A character needs a name.</source><translation>角色需要一个名字。</translation></message>
<message><source>Another character is already called that.</source><translation>已有同名角色。</translation></message>
<message><source>Add or select a character first.</source><translation>请先添加或选择一个角色。</translation></message>
<message><source>Add reference images</source><translation>添加参考图</translation></message>
<message><source>Remove reference image</source><translation>移除参考图</translation></message>
<message><source>Edit character</source><translation>修改角色</translation></message>
<message><source>Rename character</source><translation>重命名角色</translation></message>
<message><source>Delete character</source><translation>删除角色</translation></message>
<message><source>Edit voice</source><translation>修改声音</translation></message>
<message><source>Pick a piper .onnx model or a sherpa-onnx voice folder</source><translation>选择 piper .onnx 模型或 sherpa-onnx 声音文件夹</translation></message>
<message><source>Narrator (voice only)</source><translation>旁白（仅声音）</translation></message>
<message><source>The voice that reads narration and 旁白 lines</source><translation>朗读旁白和画外音的声音</translation></message>
<message><source>sherpa-onnx voice folder</source><translation>sherpa-onnx 声音文件夹</translation></message>
<message><source>piper voice model</source><translation>piper 声音模型</translation></message>
<message><source>piper models</source><translation>piper 模型</translation></message>
<message><source>Edit narrator voice</source><translation>修改旁白声音</translation></message>
<message><source>Preferences</source><translation>偏好设置</translation></message>
<message><source>Interface</source><translation>界面</translation></message>
<message><source>Follow the system</source><translation>跟随系统</translation></message>
<message><source>Shot planner (LLM)</source><translation>分镜规划（大语言模型）</translation></message>
<message><source>Automatic</source><translation>自动</translation></message>
<message><source>No LLM (rules only)</source><translation>不用大模型（仅规则）</translation></message>
<message><source>OpenAI-compatible server</source><translation>OpenAI 兼容服务</translation></message>
<message><source>Local model folder</source><translation>本地模型文件夹</translation></message>
<message><source>Mode</source><translation>模式</translation></message>
<message><source>Server URL</source><translation>服务地址</translation></message>
<message><source>Model name</source><translation>模型名称</translation></message>
<message><source>Model folder</source><translation>模型文件夹</translation></message>
<message><source>Storyreel</source><translation>Storyreel</translation></message>
<message><source>Saved.</source><translation>已保存。</translation></message>
<message><source>Recover project</source><translation>恢复项目</translation></message>
<message><source>Storyreel did not close cleanly last time. Every edit was saved as it was made. Restore the last autosave snapshot instead? (No keeps the current state.)</source><translation>Storyreel 上次没有正常关闭。每次编辑都已即时保存。要改为恢复最近的自动保存快照吗？（选“否”保留当前状态。）</translation></message>
<message><source>The project was not closed cleanly last time; every committed edit is kept.</source><translation>项目上次没有正常关闭；所有已提交的编辑都保留了。</translation></message>
<message><source>Restored the last autosave snapshot.</source><translation>已恢复最近的自动保存快照。</translation></message>
<message><source>Repair project</source><translation>修复项目</translation></message>
<message><source>Restore that backup now? The damaged file is kept beside it, so nothing is lost.</source><translation>现在恢复该备份吗？损坏的文件会保留在旁边，不会丢失任何内容。</translation></message>
<message><source>Restored the newest good backup; the damaged file is kept.</source><translation>已恢复最新的完好备份；损坏的文件已保留。</translation></message>
<message><source>This project is also open in another Storyreel window (process</source><translation>此项目也在另一个 Storyreel 窗口中打开（进程</translation></message>
<message><source>Wait for the running task to finish, or cancel it.</source><translation>请等待正在运行的任务完成，或取消它。</translation></message>
<message><source>Select one or more shots to generate.</source><translation>请选择要生成的镜头。</translation></message>
<message><source>Queued generation of</source><translation>已排队生成</translation></message>
<message><source>shots</source><translation>个镜头</translation></message>
<message><source>cancelled</source><translation>已取消</translation></message>
<message><source>Exported</source><translation>已导出</translation></message>
<message><source>EWS</source><translation>大远景</translation></message>
<message><source>WS</source><translation>全景</translation></message>
<message><source>MS</source><translation>中景</translation></message>
<message><source>MCU</source><translation>近景</translation></message>
<message><source>CU</source><translation>特写</translation></message>
<message><source>ECU</source><translation>大特写</translation></message>
<message><source>static</source><translation>固定</translation></message>
<message><source>pan</source><translation>摇</translation></message>
<message><source>tilt</source><translation>俯仰</translation></message>
<message><source>push-in</source><translation>推</translation></message>
<message><source>pull-out</source><translation>拉</translation></message>
<message><source>orbit</source><translation>环绕</translation></message>
<message><source>track</source><translation>移</translation></message>
<message><source>handheld</source><translation>手持</translation></message>
<message><source>eye-level</source><translation>平视</translation></message>
<message><source>high</source><translation>俯拍</translation></message>
<message><source>low</source><translation>仰拍</translation></message>
<message><source>overhead</source><translation>顶拍</translation></message>
<message><source>dutch</source><translation>倾斜</translation></message>
<message><source>over-the-shoulder</source><translation>过肩</translation></message>
</context>
</TS>
