"""The conversation engine of a live call: plain asyncio, no Django, transport-neutral.

One part a module, each tested alone with fake events and a fake clock:

- `call`: what the transport gives the engine (`CallContext`, a `CallOutput`, a `Clock`);
- `vad`: the caller's voice, frame by frame;
- `turn_taking`: what the caller's voice and words do to the persona (`InterruptionStrategy`);
- `caller`: the caller's audio to the recogniser, their utterance, barge-in applied;
- `playback`: what the caller heard, from marks, clears and character timings;
- `output`: the line to the caller (audio, marks, `clear`, held audio);
- `timers`: silence prompt, time-limit goodbye, KeepAlive;
- `clauses`, `prompt`, `replies`: the persona's words (LLM -> clauses -> TTS);
- `transcript`: what was said, as heard;
- `metrics`: latencies and the providers' billable work;
- `conversation`: the call itself, composing the parts, its states explicit.
"""
