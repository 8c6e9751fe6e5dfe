"""A live call over real sockets stores, when its stream ends, what each voice provider did
for it and what that cost: the seconds of audio the loopback Deepgram received, the tokens the
loopback LLM reported in its usage chunk, the characters sent to the loopback ElevenLabs."""

from decimal import Decimal

from django.conf import settings

from calls.models import Call, CallUsage
from tests.fakes.openai_sse import Reply
from tests.voice.live.conftest import hear_the_opening, run, say_and_hear_the_reply, wait_for
from tests.voice.live.test_live_call import ANSWER

REPLY = ["So", " glad", " to", " hear", " it."]


def usage_of(call: Call) -> dict[str, CallUsage]:
    return {row.unit: row for row in CallUsage.objects.filter(call=call)}


def dollars(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.000001"))


def test_a_finished_stream_stores_each_providers_usage_and_cost(live_call, open_stream, deepgram, llm):
    deepgram.utterances = [ANSWER]
    llm.default_reply = Reply(deltas=REPLY)
    stream = open_stream(live_call)

    async def scenario():
        await hear_the_opening(stream)
        await say_and_hear_the_reply(stream, ANSWER)
        await stream.stop()

    run(scenario())

    rows = wait_for(lambda: len(usage_of(live_call)) == 4 and usage_of(live_call), what="the usage rows")
    seconds = Decimal(sum(len(heard.audio) for heard in deepgram.streams)) / 8000
    assert seconds > 0
    stt = rows["seconds"]
    assert (stt.kind, stt.provider, stt.quantity) == ("stt", "deepgram nova-3", seconds.quantize(Decimal("0.001")))
    assert stt.cost == dollars(seconds * settings.DEEPGRAM_PRICE_PER_MINUTE / 60)

    reported = [request.usage for request in llm.requests]
    assert None not in reported  # the adapter asked for usage and the server sent it
    model = live_call.persona.llm_model or settings.LLM_MODEL
    input_tokens = sum(usage["prompt_tokens"] for usage in reported)
    output_tokens = sum(usage["completion_tokens"] for usage in reported)
    llm_in, llm_out = rows["input_tokens"], rows["output_tokens"]
    assert (llm_in.kind, llm_in.provider, llm_in.quantity, llm_in.unreported) == ("llm", model, input_tokens, 0)
    assert (llm_out.kind, llm_out.provider, llm_out.quantity, llm_out.unreported) == ("llm", model, output_tokens, 0)
    assert llm_in.cost == dollars(input_tokens * settings.LLM_PRICE_PER_MILLION_INPUT_TOKENS / 1_000_000)
    assert llm_out.cost == dollars(output_tokens * settings.LLM_PRICE_PER_MILLION_OUTPUT_TOKENS / 1_000_000)

    tts = rows["characters"]
    spoken = "".join(REPLY) + " "  # the opening is a pre-synthesised clip: only the reply went live
    assert (tts.kind, tts.provider, tts.quantity) == ("tts", f"elevenlabs {settings.ELEVENLABS_MODEL}", len(spoken))
    assert tts.cost == dollars(len(spoken) * settings.ELEVENLABS_PRICE_PER_THOUSAND_CHARACTERS / 1000)
