"""redis-py 8 with its defaults (RESP3 through HELLO 3, transactional pipelines), sync and
asyncio, against `wasmcache serve` on the port given, which requires the password given.

    python redis_py_defaults.py PORT PASSWORD

Prints what it checked; exits non-zero at the first thing that is not as Redis does it.
"""

import asyncio
import sys

import redis
import redis.asyncio


def check_sync(port: int, password: str) -> None:
    try:
        redis.Redis(port=port, password="wrong").ping()
        raise AssertionError("a wrong password was accepted")
    except redis.AuthenticationError:
        pass
    try:
        redis.Redis(port=port, protocol=2).get("k")
        raise AssertionError("a command ran before AUTH")
    except redis.AuthenticationError:
        pass
    resp2 = redis.Redis(port=port, password=password, protocol=2)
    assert resp2.get("absent") is None and resp2.ping() is True
    r = redis.Redis(port=port, password=password)
    assert r.ping() is True
    assert r.connection_pool.get_connection().protocol in (3, "3"), "defaults speak RESP3"
    assert r.set("k", "v", ex=100) is True
    assert r.get("k") == b"v"
    assert r.get("absent") is None
    assert r.ttl("k") in (99, 100), r.ttl("k")
    assert r.expire("k", 50) is True
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.incr("n") == 1 and r.incrby("n", 4) == 5
    # The default pipeline is a MULTI/EXEC transaction.
    with r.pipeline() as pipe:
        pipe.set("a", 1).incr("a").get("a").delete("a")
        assert pipe.execute() == [True, 2, b"2", 1]
    # WATCH: a transaction whose key another client changed runs nothing.
    other = redis.Redis(port=port, password=password)
    with r.pipeline() as pipe:
        pipe.watch("w")
        other.set("w", "changed")
        pipe.multi()
        pipe.set("w", "mine")
        try:
            pipe.execute()
            raise AssertionError("EXEC ran although a watched key changed")
        except redis.WatchError:
            pass
    assert r.get("w") == b"changed"
    # A command the server refuses makes EXEC refuse all, and nothing queued runs.
    with r.pipeline() as pipe:
        pipe.set("never", 1)
        pipe.execute_command("NOSUCHCOMMAND")
        try:
            pipe.execute()
            raise AssertionError("EXEC ran a transaction with an unknown command")
        except redis.ResponseError:
            pass
    assert r.exists("never") == 0
    keys = sorted(r.scan_iter(match="n*"))
    assert keys == [b"n"], keys
    print("sync: ok")


async def check_async(port: int, password: str) -> None:
    r = redis.asyncio.Redis(port=port, password=password)
    assert await r.ping() is True
    assert await r.set("ak", "v", px=5000) is True
    assert 0 < await r.pttl("ak") <= 5000
    async with r.pipeline() as pipe:
        pipe.incr("ac").incr("ac").get("ac")
        assert await pipe.execute() == [1, 2, b"2"]
    assert await r.delete("ak", "ac", "none") == 2
    await r.aclose()
    print("asyncio: ok")


def main() -> None:
    port, password = int(sys.argv[1]), sys.argv[2]
    check_sync(port, password)
    asyncio.run(check_async(port, password))


if __name__ == "__main__":
    main()
