"""What the providers did on a call, counted by the engine for its cost: caller audio sent to
the recogniser, the tokens the LLM server reported, text sent to the TTS. Work on a reply cut
off by a barge-in is billed too, so it counts."""

import asyncio

from voice.providers.base import TranscriptUpdate, Usage

from .scripted import PhoneCall, ScriptedLlm, reply
from .test_conversation_barge_in import HEARD_AT_1_54_S, persona_mid_reply


async def answered(llm: ScriptedLlm) -> PhoneCall:
    """The opening has played, the caller answers and the persona's reply is heard."""
    call = PhoneCall(llm=llm)
    await call.start()
    await call.silence(1.5)
    await call.hear(TranscriptUpdate("I am fine.", is_final=True, end_of_turn=True))
    await call.until(lambda: len(call.persona_turns()) == 2)
    return call


def test_the_engine_counts_audio_heard_tokens_reported_and_characters_spoken():
    call = asyncio.run(answered(ScriptedLlm(reply("Lovely to hear.", Usage(input_tokens=120, output_tokens=4)))))

    usage = call.conversation.usage
    assert usage.stt_audio_bytes == call.stt.stream.audio_bytes  # all of it reached the recogniser
    assert usage.stt_audio_bytes >= 1.5 * 8000  # 8 kHz mu-law: 8000 bytes a second
    assert (usage.llm_requests, usage.llm_reported) == (1, 1)
    assert (usage.llm_input_tokens, usage.llm_output_tokens) == (120, 4)
    assert usage.tts_characters == len("Lovely to hear. ")  # the opening was a cached clip: no TTS


def test_a_server_that_reports_no_usage_leaves_the_tokens_unknown():
    call = asyncio.run(answered(ScriptedLlm(reply("Lovely to hear."))))

    usage = call.conversation.usage
    assert (usage.llm_requests, usage.llm_reported) == (1, 0)
    assert (usage.llm_input_tokens, usage.llm_output_tokens) == (0, 0)


def test_a_reply_cut_off_by_a_barge_in_counts_its_characters_and_its_tokens_as_unreported():
    async def scenario() -> PhoneCall:
        call, _ = await persona_mid_reply(reply("Of course, go on.", Usage(input_tokens=300, output_tokens=5)))
        await call.voice(8)
        await call.hear(TranscriptUpdate("Wait, stop", is_final=False, end_of_turn=False))
        await call.hear(TranscriptUpdate("Wait, stop, I have news.", is_final=True, end_of_turn=True))
        await call.until(lambda: len(call.persona_turns()) == 3)
        return call

    call = asyncio.run(scenario())

    interrupted = call.persona_turns()[1]
    assert interrupted.interrupted and interrupted.text == HEARD_AT_1_54_S
    assert call.llm.calls[0].cancelled  # it never reached its usage chunk
    usage = call.conversation.usage
    assert (usage.llm_requests, usage.llm_reported) == (2, 1)
    assert (usage.llm_input_tokens, usage.llm_output_tokens) == (300, 5)
    sent_unheard = call.tts.session.text_of("turn-2")  # what went to the TTS before the caller cut in
    assert len(sent_unheard.strip()) > len(HEARD_AT_1_54_S)
    assert usage.tts_characters == len(sent_unheard) + len("Of course, go on. ")
