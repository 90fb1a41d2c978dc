from tests.harness import TestBot


async def test_help_then_follow(testbot: TestBot) -> None:
    out = await testbot.push("/help", "/follow")
    assert "Commands you can use" in out
    assert "You now follow ALCTS here. 1 of 1 members follow (100%)." in out
