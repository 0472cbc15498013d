"""The Dask side of `floe bench --vs-dask`.

Reads a JSON request on stdin ({"quick", "reps": {scenario: n}, "params": {scenario: {...}}}),
runs the same shapes as the floe scenarios on a Dask LocalCluster (2 worker processes x 1
thread), and prints {"version", "scenarios": {name: {"raws": [...]}}} on stdout, in the raw
formats the TypeScript scenarios measure (bench/scenarios/*.ts), so both sides go through the
same statistics. Progress goes to stderr.

Clock: time.time() in ms (epoch), comparable across the worker processes on one machine.
"""
import json
import sys
import time

import distributed
from distributed import Client, LocalCluster, wait


def now_ms():
    return time.time() * 1000.0


def stamp(*_upstream):
    s = now_ms()
    return {"s": s, "e": now_ms()}


def noop(x):
    return x


def add(a, b):
    return a + b


def make_bytes(n, seed):
    # Same payload as floe's makeBytes would be too slow in pure Python; numpy-free pattern.
    return (bytes(range(seed % 251, 251)) + bytes(range(0, 251))) * (n // 251 + 1)


def consume_bytes(data, _seed):
    s = now_ms()
    return {"s": s, "length": len(data)}


def log(msg):
    print(f"[dask] {msg}", file=sys.stderr, flush=True)


def until_let_go(client, scenario):
    """Waits until the scheduler holds no task of the run just released, then until no
    worker holds a result of it (a worker frees its results once the scheduler's message
    reaches it), so that the next run is timed on its own tasks only (as the floe side
    does: bench/let-go.ts)."""
    deadline = time.monotonic() + 60
    while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) > 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{scenario}: the scheduler still holds tasks a minute after their release")
    while any(n > 0 for n in client.run(lambda dask_worker: len(dask_worker.data)).values()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{scenario}: the workers still hold results a minute after their release")
        time.sleep(0.02)  # asking in a tight loop would load the workers it waits on


def task_lag(client, params, warmup):
    raw = {}
    # The warm-up runs every shape at full size warmupRounds times, as on the floe side.
    for _ in range(params.get("warmupRounds", 1) if warmup else 1):
        for shape, flows in params["shapes"].items():
            raw[shape] = task_lag_shape(client, flows)
    return raw


def task_lag_shape(client, flows):
    graph = []
    for flow in flows:
        base = len(graph)
        graph.extend([base + d for d in deps] for deps in flow)
    futures = []
    submit_ms = now_ms()
    for deps in graph:
        futures.append(client.submit(stamp, *[futures[d] for d in deps], pure=False))
    stamps = client.gather(futures)
    run = {
        "submitMs": submit_ms,
        "tasks": [{"deps": deps, "startMs": st["s"], "endMs": st["e"]} for deps, st in zip(graph, stamps)],
    }
    del futures
    until_let_go(client, "task-lag")
    return run


def throughput(client, params, warmup):
    runs = []
    for n in params.get("warmupSizes", [1000]) if warmup else params["sizes"]:
        t0 = time.perf_counter()
        futures = client.map(noop, range(n), pure=False)
        results = client.gather(futures)
        seconds = time.perf_counter() - t0
        assert results[-1] == n - 1
        runs.append({"n": n, "seconds": seconds})
        del futures
        until_let_go(client, "throughput")
    return {"runs": runs}


def latency(client, params, warmup):
    n = params.get("warmupCount", 50) if warmup else params["count"]
    # The warm-up ends after n round trips or warmupMaxMs, whichever comes first (scenarios/latency.ts).
    max_s = params.get("warmupMaxMs", float("inf")) / 1000.0 if warmup else float("inf")
    started = time.perf_counter()
    out = []
    for i in range(n):
        if time.perf_counter() - started >= max_s:
            break
        t0 = time.perf_counter()
        v = client.submit(noop, i, pure=False).result()
        out.append((time.perf_counter() - t0) * 1000.0)
        assert v == i
    return {"roundTripsMs": out}


def tree_reduce(client, params, warmup):
    if warmup:
        for n in params.get("warmupSizes", [200]):
            assert sum_tree(client, n)["ok"], "tree-reduce: wrong sum in the warm-up"
    return sum_tree(client, params["n"])


def sum_tree(client, n):
    t0 = time.perf_counter()
    level = [client.submit(add, i, i + 1, pure=False) for i in range(0, n - 1, 2)]
    if n % 2 == 1:
        level.append(client.submit(add, n - 1, 0, pure=False))
    while len(level) > 1:
        nxt = [client.submit(add, level[i], level[i + 1], pure=False) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2 == 1:
            nxt.append(level[-1])
        level = nxt
    total = level[0].result()
    seconds = time.perf_counter() - t0
    return {"n": n, "seconds": seconds, "ok": total == n * (n - 1) // 2}


def transfer(client, params, warmup):
    mb = params["mb"]
    size = mb * 2 ** 20
    workers = sorted(client.scheduler_info()["workers"])
    rates = []
    # As many untimed moves first as floe's side makes (TRANSFER_WARMUP_COPIES in bench/transfer-io.ts).
    warmups = params.get("warmup_moves", 1)
    for i in range(warmups + params["per_rep"]):
        made = client.submit(make_bytes, size, i, workers=[workers[0]], pure=False)
        wait(made)
        t0 = now_ms()
        used = client.submit(consume_bytes, made, i, workers=[workers[1]], allow_other_workers=False, pure=False)
        r = used.result()
        assert r["length"] >= size
        if i >= warmups:
            rates.append(mb / ((r["s"] - t0) / 1000.0))
        del made, used
    # Beside it, what floe's put row measures: the client's own bytes onto worker B (scatter).
    data = b"\x07" * size
    put_rates = []
    for i in range(warmups + params["per_rep"]):
        t0 = time.perf_counter()
        put = client.scatter(data, workers=[workers[1]], direct=True, hash=False)
        seconds = time.perf_counter() - t0
        if i >= warmups:
            put_rates.append(mb / seconds)
        del put
    # And what floe's putMany row measures: a list of small values scattered over both workers.
    n, value_bytes = params.get("put_many_values", 1000), params.get("put_many_value_bytes", 100)
    values = ["x" * (value_bytes - 8) + str(i).zfill(8) for i in range(n)]
    put_many_ms = []
    for i in range(warmups + params["per_rep"]):
        t0 = time.perf_counter()
        futures = client.scatter(values, hash=False)
        seconds = time.perf_counter() - t0
        if i >= warmups:
            put_many_ms.append(seconds * 1000.0)
        del futures
    return {"mb": mb, "floeMBps": rates, "putMBps": put_rates, "grpcMBps": [], "tcpMBps": [], "putManyMs": put_many_ms}


SCENARIOS = {
    "task-lag": task_lag,
    "throughput": throughput,
    "latency": latency,
    "tree-reduce": tree_reduce,
    "transfer": transfer,
}


def main():
    request = json.load(sys.stdin)
    out = {"version": distributed.__version__, "scenarios": {}}
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        # As floe's cluster warm-up (bench/warm-up.ts): the same time of work before the first scenario.
        warmup_seconds = request.get("warmupSeconds", 0)
        if warmup_seconds > 0:
            log(f"warm-up: {warmup_seconds} s of no-op rounds")
            until = time.perf_counter() + warmup_seconds
            while True:
                throughput(client, {"warmupSizes": [1000]}, True)
                if time.perf_counter() >= until:
                    break
        for name, reps in request["reps"].items():
            fn = SCENARIOS.get(name)
            if fn is None:
                continue
            params = request["params"].get(name, {})
            result = {"raws": []}
            try:
                log(f"{name}: warm-up")
                fn(client, params, True)
                for i in range(reps):
                    log(f"{name}: run {i + 1}/{reps}")
                    result["raws"].append(fn(client, params, False))
            except Exception as error:  # report and go on with the other scenarios
                result["error"] = f"{type(error).__name__}: {error}"
                log(f"{name}: FAILED: {result['error']}")
            out["scenarios"][name] = result
    finally:
        client.close()
        cluster.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
