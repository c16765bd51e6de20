"""The Support Manager's media in calls (aiortc, PyAudio, OpenCV): ``agent_media`` (AgentMedia, one per
session), ``call_leg`` (the peer connections of one call), ``audio_tracks`` (microphone, speaker),
``video_tracks`` (camera, received pictures), ``speaking`` (who is speaking), ``devices`` (PyAudio)."""
