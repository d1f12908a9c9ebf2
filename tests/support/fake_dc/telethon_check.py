"""Checks the fake MTProto DC against an independent client, Telethon 1.45.0: trust the fake's
test RSA key, log in as the bot (or resume a saved session), download files (whole and one ranged
chunk) and compare them with the bytes the test wrote next to them, and fetch messages holding
files (a private chat, a channel named by id alone) to download them with their current file
reference. Exits non-zero on the first mismatch or error."""

import argparse
import asyncio
import hashlib
import json
import logging
import sys

try:
    import telethon
    from telethon import TelegramClient
    from telethon.crypto import rsa
    from telethon.errors import AuthKeyNotFound
    from telethon.network import connection
    from telethon.sessions import StringSession
    from telethon.tl.functions.channels import GetChannelsRequest
    from telethon.tl.types import (InputChannel, InputDocumentFileLocation, InputPeerChannel, InputPeerUser,
                                   InputPhotoFileLocation)
except ImportError:
    print("telethon is not importable: pip install telethon==1.45.0", file=sys.stderr)
    sys.exit(3)

TRANSPORTS = {
    "full": connection.ConnectionTcpFull,
    "intermediate": connection.ConnectionTcpIntermediate,
    "abridged": connection.ConnectionTcpAbridged,
}


def location(f):
    ref = bytes.fromhex(f["file_reference"])
    if f["kind"] == "photo":
        return InputPhotoFileLocation(id=f["id"], access_hash=f["access_hash"], file_reference=ref, thumb_size="y")
    return InputDocumentFileLocation(id=f["id"], access_hash=f["access_hash"], file_reference=ref, thumb_size="")


async def check(args):
    with open(args.pem) as pem:
        rsa.add_key(pem.read(), old=False)
    client = TelegramClient(StringSession(args.session), args.api_id, args.api_hash, connection=TRANSPORTS[args.transport],
                            flood_sleep_threshold=5, connection_retries=1, retry_delay=0, timeout=10)
    if not args.session:
        client.session.set_dc(args.dc, "127.0.0.1", args.port)
    if args.expect_auth_key_not_found:
        try:
            await asyncio.wait_for(client.start(bot_token=args.token), 20)
        except AuthKeyNotFound:
            print("telethon check ok: the DC does not know the saved auth key (-404)", telethon.__version__)
            return
        raise SystemExit("logged in, want AuthKeyNotFound")
    await client.start(bot_token=args.token)
    me = await client.get_me()
    print(f"logged in as {me.id} bot={me.bot} on dc {args.dc} over {args.transport}")
    for f in json.loads(args.files):
        with open(f["path"], "rb") as fh:
            want = fh.read()
        if f.get("expect_error"):
            try:
                await client.download_file(location(f), bytes, part_size_kb=f["part_kb"], file_size=len(want))
            except telethon.errors.RPCError as e:
                # Telethon maps known errors to classes (FILE_ID_INVALID -> FileIdInvalidError).
                cls = "".join(w.capitalize() for w in f["expect_error"].split("_")) + "Error"
                if type(e).__name__ != cls and e.message != f["expect_error"]:
                    raise SystemExit(f"file {f['id']}: {e!r}, want {f['expect_error']}")
                print(f"file {f['id']}: {f['expect_error']} as expected")
                continue
            raise SystemExit(f"file {f['id']}: downloaded, want {f['expect_error']}")
        got = await client.download_file(location(f), bytes, part_size_kb=f["part_kb"], file_size=len(want))
        if got != want:
            raise SystemExit(f"file {f['id']}: {len(got)} bytes, sha256 {hashlib.sha256(got).hexdigest()}, "
                             f"want {len(want)} bytes, sha256 {hashlib.sha256(want).hexdigest()}")
        print(f"file {f['id']} ({f['kind']}, dc {f['dc']}): {len(got)} bytes, sha256 {hashlib.sha256(got).hexdigest()}")
        if f.get("range"):
            offset, size = f["range"]
            parts = []
            async for part in client.iter_download(location(f), offset=offset, request_size=size, limit=1,
                                                   file_size=len(want), dc_id=f["dc"]):
                parts.append(part)
            chunk = b"".join(parts)
            if chunk != want[offset:offset + size]:
                raise SystemExit(f"file {f['id']}: range {offset}+{size} differs ({len(chunk)} bytes)")
            print(f"file {f['id']}: range {offset}+{size} ok")
    for m in json.loads(args.messages):
        await check_message(client, m)
    print("session:", client.session.save())
    await client.disconnect()
    print("telethon check ok", telethon.__version__)


async def check_message(client, m):
    """Fetches message m["msg_id"] of a private chat or a channel (as pyrogram resolves one: by id,
    access hash 0) and checks its media's file reference and bytes."""
    if m["peer"] == "user":
        peer = InputPeerUser(m["peer_id"], 0)
    else:
        chats = await client(GetChannelsRequest([InputChannel(m["peer_id"], 0)]))
        if not chats.chats[0].access_hash:
            raise SystemExit(f"channel {m['peer_id']}: no access hash")
        peer = InputPeerChannel(m["peer_id"], chats.chats[0].access_hash)
    msg = await client.get_messages(peer, ids=m["msg_id"])
    if m.get("expect_empty"):
        if msg is not None:
            raise SystemExit(f"message {m['msg_id']}: {msg!r}, want none")
        print(f"message {m['msg_id']} of {m['peer']} {m['peer_id']}: empty as expected")
        return
    media = msg.document or msg.photo
    if media is None or media.file_reference.hex() != m["file_reference"]:
        raise SystemExit(f"message {m['msg_id']}: media {media!r}, want file reference {m['file_reference']}")
    with open(m["path"], "rb") as fh:
        want = fh.read()
    got = await client.download_media(msg, bytes)
    if got != want:
        raise SystemExit(f"message {m['msg_id']}: {len(got)} bytes differ from the {len(want)} expected")
    print(f"message {m['msg_id']} of {m['peer']} {m['peer_id']}: {len(got)} bytes with the current reference")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dc", type=int, required=True)
    p.add_argument("--pem", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--api-id", type=int, required=True)
    p.add_argument("--api-hash", required=True)
    p.add_argument("--transport", default="full", choices=sorted(TRANSPORTS))
    p.add_argument("--files", required=True, help="JSON list of {kind,id,access_hash,file_reference,dc,path,part_kb,range?,expect_error?}")
    p.add_argument("--messages", default="[]", help="JSON list of {peer: user|channel, peer_id, msg_id, file_reference, path} or {..., expect_empty}")
    p.add_argument("--session", default="", help="a StringSession to resume (auth key included)")
    p.add_argument("--expect-auth-key-not-found", action="store_true")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    asyncio.run(check(args))


if __name__ == "__main__":
    main()
