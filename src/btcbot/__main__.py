from btcbot.cli import entrypoint

entrypoint()
