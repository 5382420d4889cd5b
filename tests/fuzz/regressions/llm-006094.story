Here is th� plan:
```json
{"tile": "雨夜", "logline": "两个人在雨夜重逢。", "characters": [{"name": "林雨", "gender": "female", "age": 28, "appearance": "长发", "costume": "风衣", "personality": "倔强"}], "scenes": [{"location": "咖啡馆", "setting": "INT", "time_of_day": "night", "beats": [{"kind": "dialogue", "speaker": "林雨", "emotion": "", "text": "你来了。"}]}]}
```
Hope it helps.