"""Timeline → frames + audio → encoded film; subtitles; export presets."""
