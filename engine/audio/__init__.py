"""Voices (TTS), music, ducking, mixing and loudness."""
