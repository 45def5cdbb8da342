"""The pure helpers of tools/service_bench/ (the load test itself needs a whole deployment)."""

from tools.service_bench.rss import second_half_growth_pct, thin


def test_thin_keeps_every_kth_value_and_the_last():
    assert thin(list(range(10)), 4) == [0, 3, 6, 9]
    assert thin(list(range(11)), 4) == [0, 3, 6, 9, 10]  # the last reading is never dropped
    assert thin([1, 2], 5) == [1, 2]


def test_second_half_growth_compares_median_readings_of_the_middle_and_the_end():
    # 0-10 s: rises from 100 to 110 MiB, then flat at 110 with one low reading (a job's buffers freed)
    levelled = [(float(t), min(110.0, 100.0 + t)) for t in range(11)] + [
        (float(t), 110.0) for t in range(11, 21)
    ]
    levelled[19] = (19.0, 90.0)
    assert second_half_growth_pct(levelled, 20.0) == 0.0  # medians of 8-12 s and 18-20 s: 110 and 110
    growing = [(float(t), 100.0 + 2 * t) for t in range(21)]
    assert second_half_growth_pct(growing, 20.0) == 15.0  # medians 120 (8-12 s) -> 138 (18-20 s)
    assert second_half_growth_pct([], 10.0) is None and second_half_growth_pct(growing, None) is None


def test_the_classify_client_makes_each_call_once_over_keep_alive_connections_and_counts_errors():
    # A real HTTP/1.1 server (the standard library's) stands in for the API: the client is under test.
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tools.service_bench.classify import http_classify

    seen: list[str] = []
    connections: set[tuple[str, int]] = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body["texts"][0])
            connections.add(self.client_address)
            status = 422 if body["texts"][0] == "bad" else 200
            payload = b'{"results": []}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if body["texts"][0] == "close":  # the server ends this keep-alive connection
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        texts = [f"text {i}" for i in range(14)] + ["close"] + [f"text {i}" for i in range(14, 29)] + ["bad"]
        report = http_classify(server.server_address[1], texts, 4)
    finally:
        server.shutdown()
    assert sorted(seen) == sorted(texts)
    # one connection per caller, reused for every call, and one more where the server closed one
    assert len(connections) == 5
    assert report["calls"] == 31 and report["errors"] == 1
    assert report["latency_ms"]["count"] == 31
