#!/usr/bin/env python3
"""Checks Keygate with the official `openai` and `anthropic` Python SDKs against a real `keygate serve` process.

Starts the fake OpenAI-compatible provider (keygate-fake-upstream) and `keygate serve` on free ports with a
temporary data directory, creates an organisation and an API key with the real CLI, then drives the gateway
through the SDK exactly as a customer would. Prints one line per check and a closing "N passed, N failed".

Usage: checks/sdk_check.py [BIN_DIR]   (default .build/debug)
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import anthropic
import openai
from checklib import check, free_port, http, summary, wait_ready

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug")
KEYGATE = os.path.join(BIN, "keygate")
FAKE = os.path.join(BIN, "keygate-fake-upstream")
PLATFORM_KEY = "sk-platform-sdk-check-0123456789"
ORG_KEY = "sk-org-own-sdk-check-MARKER-4242"
AWS_KEY_ID, AWS_SECRET = "AKIASDKCHECK00000001", "sdkCheckAWSsecret/K7MDENG/bPxRfiCYEXAMPLE"

def main():
    data_dir = tempfile.mkdtemp(prefix="keygate-sdk-check-")
    fake = subprocess.Popen([FAKE, "--port", "0", "--api-key", PLATFORM_KEY, "--api-key", ORG_KEY,
                             "--aws-key", f"{AWS_KEY_ID}:{AWS_SECRET}"], stdout=subprocess.PIPE, text=True)
    fake_port = int(fake.stdout.readline().strip().rsplit(" ", 1)[1])
    env = dict(os.environ)
    env.update({
        "KEYGATE_DATA_DIR": data_dir,
        "KEYGATE_PROVIDER_OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
        "KEYGATE_PROVIDER_OPENAI_API_KEY": PLATFORM_KEY,
        "KEYGATE_PROVIDER_ANTHROPIC_BASE_URL": f"http://127.0.0.1:{fake_port}",
        "KEYGATE_PROVIDER_ANTHROPIC_API_KEY": PLATFORM_KEY,
        "KEYGATE_PROVIDER_GOOGLE_BASE_URL": f"http://127.0.0.1:{fake_port}",
        "KEYGATE_PROVIDER_GOOGLE_API_KEY": PLATFORM_KEY,
        "KEYGATE_PROVIDER_AWS_BASE_URL": f"http://127.0.0.1:{fake_port}",
        "KEYGATE_PROVIDER_AWS_API_KEY": json.dumps({"accessKeyId": AWS_KEY_ID, "secretAccessKey": AWS_SECRET, "region": "us-east-1"}),
    })
    server = None
    try:
        subprocess.run([KEYGATE, "org", "create", "sdk-check"], env=env, check=True, capture_output=True, text=True)
        subprocess.run([KEYGATE, "credits", "grant", "--org", "sdk-check", "--credits", "100"], env=env, check=True, capture_output=True, text=True)
        created = subprocess.run([KEYGATE, "apikey", "create", "--org", "sdk-check", "--name", "sdk"], env=env, check=True,
                                 capture_output=True, text=True)
        api_key = created.stdout.strip().splitlines()[-1]
        assert api_key.startswith("kg_"), "the key is alone on stdout's last line"

        port = free_port()
        log_path = os.path.join(data_dir, "serve.log")
        log = open(log_path, "w")
        server = subprocess.Popen([KEYGATE, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=api_key, max_retries=0)

        def non_streaming():
            raw = client.chat.completions.with_raw_response.create(
                model="openai/gpt-5.6-luna", messages=[{"role": "user", "content": "Say hello"}])
            completion = raw.parse()
            assert completion.choices[0].message.content == "Hello from the fake upstream.", completion
            assert completion.usage.prompt_tokens == 12 and completion.usage.completion_tokens == 5, completion.usage
            assert raw.headers["x-keygate-billing"] == "credits", raw.headers
            assert raw.headers["x-request-id"].startswith("req_"), raw.headers
            assert float(raw.headers["x-keygate-credits-charged"]) > 0, raw.headers

        def streaming_with_usage():
            stream = client.chat.completions.create(
                model="gpt-5.6-luna", stream=True, stream_options={"include_usage": True},
                messages=[{"role": "user", "content": "Count #fake chunks=4"}])
            text, usage_chunks = "", []
            for chunk in stream:
                if chunk.usage is not None:
                    usage_chunks.append(chunk.usage)
                for choice in chunk.choices:
                    text += choice.delta.content or ""
            assert text == "w0 w1 w2 w3 ", text
            assert len(usage_chunks) == 1 and usage_chunks[0].completion_tokens == 4, usage_chunks

        def streaming_without_usage():
            stream = client.chat.completions.create(
                model="openai/gpt-5.6-luna", stream=True, messages=[{"role": "user", "content": "Count #fake chunks=2"}])
            chunks = list(stream)
            assert chunks and all(c.usage is None for c in chunks), "no usage chunk unless asked"

        def list_models():
            ids = [m.id for m in client.models.list()]
            assert "openai/gpt-5.6-luna" in ids and "groq/openai/gpt-oss-120b" in ids, ids[:5]

        def bad_key():
            bad = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="kg_000000000000_" + "a" * 43, max_retries=0)
            try:
                bad.chat.completions.create(model="openai/gpt-5.6-luna", messages=[{"role": "user", "content": "hi"}])
            except openai.AuthenticationError as error:
                assert error.status_code == 401 and error.code == "invalid_api_key", error
                return
            raise AssertionError("a bad key was accepted")

        def unknown_model():
            try:
                client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
            except openai.NotFoundError as error:
                assert "/v1/models" in str(error), error
                return
            raise AssertionError("an unknown model was accepted")

        def rate_limited():
            try:
                client.chat.completions.create(model="openai/gpt-5.6-luna",
                                               messages=[{"role": "user", "content": "hi #fake status=429 retry_after=3"}])
            except openai.RateLimitError as error:
                assert error.response.headers["retry-after"] == "3", error.response.headers
                return
            raise AssertionError("no rate limit error")

        def no_secret_in_logs():
            time.sleep(0.1)  # info lines reach the file in batches, at most 10 ms after they are logged
            server_log = open(log_path).read()
            entries = [json.loads(line) for line in server_log.splitlines() if line.strip()]
            assert any(e.get("msg") == "chat completion" and e.get("request_id", "").startswith("req_") for e in entries), \
                "each request is logged as a JSON line with its request id"
            for secret in (api_key, PLATFORM_KEY, api_key[-43:]):
                assert secret not in server_log, "a secret reached the log"

        check("non-streaming completion with usage and billing headers", non_streaming)
        check("streaming completion with stream_options.include_usage", streaming_with_usage)
        check("streaming completion without a usage chunk", streaming_without_usage)
        check("models.list", list_models)
        check("bad key raises openai.AuthenticationError", bad_key)
        check("unknown model raises openai.NotFoundError", unknown_model)
        check("provider 429 raises openai.RateLimitError with retry-after", rate_limited)
        check("structured JSON log lines with request ids and no secret", no_secret_in_logs)

        def not_enough_credits():
            try:
                client.chat.completions.create(model="openai/gpt-5.6-sol", max_tokens=10_000_000,
                                               messages=[{"role": "user", "content": "hi"}])
            except openai.APIStatusError as error:
                assert error.status_code == 402 and error.code == "insufficient_credits", error
                assert "max_tokens" in str(error) and "Buy credits" in str(error), error
                return
            raise AssertionError("a request beyond the balance ran")

        check("a request the balance cannot cover raises a 402 that says what to do", not_enough_credits)

        claude = anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key=api_key, max_retries=0)

        def anthropic_messages():
            message = claude.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hello"}])
            assert message.content[0].text == "Hello from the fake upstream.", message
            assert message.usage.output_tokens == 5, message.usage

        def anthropic_stream():
            with claude.messages.stream(model="claude-haiku-4-5", max_tokens=64,
                                        messages=[{"role": "user", "content": "count #fake chunks=3"}]) as stream:
                text = "".join(stream.text_stream)
                final = stream.get_final_message()
            assert text == "w0 w1 w2 ", text
            assert final.usage.output_tokens == 3, final.usage

        def anthropic_bad_key():
            bad = anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key="kg_000000000000_" + "a" * 43, max_retries=0)
            try:
                bad.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
            except anthropic.AuthenticationError:
                return
            raise AssertionError("a bad key was accepted")

        def openai_sdk_on_an_anthropic_model():
            stream = client.chat.completions.create(model="anthropic/claude-haiku-4-5", stream=True, stream_options={"include_usage": True},
                                                    messages=[{"role": "user", "content": "count #fake chunks=2"}])
            chunks = list(stream)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text == "w0 w1 ", text
            assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 2, chunks[-1]

        check("anthropic SDK: messages.create through /v1/messages", anthropic_messages)
        check("anthropic SDK: messages.stream through /v1/messages", anthropic_stream)
        check("anthropic SDK: a bad key raises anthropic.AuthenticationError", anthropic_bad_key)

        def anthropic_sdk_on_an_openai_model():
            message = claude.messages.create(model="openai/gpt-5.6-luna", max_tokens=64, messages=[{"role": "user", "content": "hello"}])
            assert message.content[0].text == "Hello from the fake upstream.", message
            with claude.messages.stream(model="openai/gpt-5.6-luna", max_tokens=64,
                                        messages=[{"role": "user", "content": "count #fake chunks=3"}]) as stream:
                text = "".join(stream.text_stream)
                final = stream.get_final_message()
            assert text == "w0 w1 w2 ", text
            assert final.usage.output_tokens == 3, final.usage

        check("anthropic SDK on an OpenAI model through /v1/messages (translated both ways)", anthropic_sdk_on_an_openai_model)

        admin_created = subprocess.run([KEYGATE, "apikey", "create", "--org", "sdk-check", "--name", "jobs", "--admin"], env=env,
                                       check=True, capture_output=True, text=True)
        admin_key = admin_created.stdout.strip().splitlines()[-1]
        api = f"http://127.0.0.1:{port}/api/orgs/sdk-check"

        def one_job_end_to_end():
            status, body = http("POST", f"{api}/jobs", admin_key, {"credits": 5, "metadata": {"review": "sdk-check"}})
            assert status == 201, body
            job = json.loads(body)
            assert job["status"] == "open" and job["reserved"] == 5, job
            status, body = http("GET", f"{api}/balance", admin_key)
            before = json.loads(body)
            assert before["reserved"] >= 5, before
            headers = {"x-keygate-job": job["id"]}
            raw = client.chat.completions.with_raw_response.create(
                model="openai/gpt-5.6-luna", max_tokens=100, messages=[{"role": "user", "content": "review part 1"}], extra_headers=headers)
            assert raw.parse().choices[0].message.content == "Hello from the fake upstream.", raw.parse()
            message = claude.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "review part 2"}],
                                             extra_headers=headers)
            assert message.content[0].text == "Hello from the fake upstream.", message
            status, body = http("GET", f"{api}/balance", admin_key)
            assert json.loads(body)["available"] == before["available"], "the calls were paid from the job's hold"
            status, body = http("GET", f"{api}/jobs/{job['id']}", admin_key)
            receipt = json.loads(body)
            assert status == 200 and len(receipt["calls"]) == 2 and receipt["charged"] > 0, receipt
            assert sorted(call["model"] for call in receipt["calls"]) == ["anthropic/claude-haiku-4-5", "openai/gpt-5.6-luna"], receipt
            status, body = http("POST", f"{api}/jobs/{job['id']}/complete", admin_key)
            completed = json.loads(body)
            assert status == 200 and completed["status"] == "completed" and completed["charged"] == receipt["charged"], completed
            status, body = http("GET", f"{api}/balance", admin_key)
            after = json.loads(body)
            assert abs(after["available"] - (before["available"] + 5 - completed["charged"])) < 1e-9, (before, after, completed)
            try:
                client.chat.completions.create(model="openai/gpt-5.6-luna", messages=[{"role": "user", "content": "late"}], extra_headers=headers)
            except openai.APIStatusError as error:
                assert error.status_code == 409 and error.code == "job_closed", error
            else:
                raise AssertionError("a call naming a completed job ran")
            try:
                claude.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "late"}],
                                       extra_headers=headers)
            except anthropic.APIStatusError as error:
                assert error.status_code == 409, error
            else:
                raise AssertionError("a call naming a completed job ran")

        check("one job end to end: openai and anthropic SDK calls with x-keygate-job (extra_headers), receipt, complete", one_job_end_to_end)
        check("openai SDK streaming from an Anthropic model (translated)", openai_sdk_on_an_anthropic_model)

        def openai_sdk_on_a_gemini_model():
            completion = client.chat.completions.create(model="gemini/gemini-3.7-flash", messages=[{"role": "user", "content": "hello"}])
            assert completion.choices[0].message.content == "Hello from the fake upstream.", completion
            chunks = list(client.chat.completions.create(model="google/gemini-3.7-flash", stream=True, stream_options={"include_usage": True},
                                                         messages=[{"role": "user", "content": "count #fake chunks=2"}]))
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "w0 w1 "
            assert chunks[-1].usage.completion_tokens == 2, chunks[-1]

        check("openai SDK on a Gemini model, plain and streamed (translated)", openai_sdk_on_a_gemini_model)

        def openai_sdk_on_a_bedrock_model():
            completion = client.chat.completions.create(model="aws/global.anthropic.claude-sonnet-5-v1:0", messages=[{"role": "user", "content": "hello"}])
            assert completion.choices[0].message.content == "Hello from the fake upstream.", completion
            chunks = list(client.chat.completions.create(model="bedrock/global.anthropic.claude-opus-5", stream=True, stream_options={"include_usage": True},
                                                         messages=[{"role": "user", "content": "count #fake chunks=2"}]))
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "w0 w1 "
            assert chunks[-1].usage.completion_tokens == 2, chunks[-1]

        check("openai SDK on a Bedrock model, plain and streamed (SigV4, event-stream translated)", openai_sdk_on_a_bedrock_model)

        def bad_master_key_exits():
            bad_env = dict(env, KEYGATE_MASTER_KEY="dG9vLXNob3J0")
            done = subprocess.run([KEYGATE, "serve", "--port", str(free_port())], env=bad_env, capture_output=True, text=True, timeout=60)
            assert done.returncode != 0, "start-up with a bad master key must fail"
            lines = [line for line in done.stderr.splitlines() if line.startswith("keygate:")]
            assert len(lines) == 1 and "KEYGATE_MASTER_KEY" in lines[0], done.stderr
            assert "dG9vLXNob3J0" not in done.stderr

        check("serve with a bad master key exits non-zero with one line", bad_master_key_exits)

        def byok_through_the_cli():
            added = subprocess.run([KEYGATE, "byok", "add", "--org", "sdk-check", "--provider", "openai"], env=env,
                                   input=ORG_KEY + "\n", capture_output=True, text=True, timeout=60)
            assert added.returncode == 0, added.stderr
            assert ORG_KEY not in added.stdout + added.stderr, "the CLI never prints the key"
            listed = subprocess.run([KEYGATE, "byok", "list", "--org", "sdk-check"], env=env, capture_output=True, text=True, timeout=60)
            assert "openai" in listed.stdout and "active" in listed.stdout and ORG_KEY not in listed.stdout, listed.stdout
            refused = subprocess.run([KEYGATE, "byok", "add", "--org", "sdk-check", "--provider", "groq"], env=dict(env,
                                     KEYGATE_PROVIDER_GROQ_BASE_URL=f"http://127.0.0.1:{fake_port}/v1"),
                                     input="gsk_not-a-valid-key-000000\n", capture_output=True, text=True, timeout=60)
            assert refused.returncode != 0 and "revoked" in refused.stderr, refused.stderr
            # The server sees the new key within its 2 s cache window.
            deadline = time.time() + 10
            while True:
                raw = client.chat.completions.with_raw_response.create(
                    model="openai/gpt-5.6-luna", messages=[{"role": "user", "content": "hi"}])
                if raw.headers["x-keygate-billing"] == "byok" or time.time() > deadline:
                    break
                time.sleep(0.2)
            assert raw.headers["x-keygate-billing"] == "byok", raw.headers
            assert raw.headers["x-keygate-byok-key"].endswith(ORG_KEY[-4:]), raw.headers
            time.sleep(0.1)
            server_log = open(log_path).read()
            assert ORG_KEY not in server_log

        check("byok add/list through the CLI, then requests run on the organisation's key", byok_through_the_cli)
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        fake.terminate()
        fake.wait(timeout=30)

    return summary()


if __name__ == "__main__":
    sys.exit(main())
