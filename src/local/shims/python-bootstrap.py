"""sls's bootstrap for Python functions run locally: a Lambda Runtime API client. It imports
the handler named by _HANDLER from LAMBDA_TASK_ROOT once (module state survives between
invocations, as in a warm Lambda), then asks for invocations until it is stopped."""
import http.client
import importlib
import json
import os
import sys
import time
import traceback

env = os.environ
host, port = env["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port))


def call(method, what, body=None, headers=None):
    conn.request(method, "/2018-06-01/runtime/" + what, body=body, headers=headers or {})
    r = conn.getresponse()
    return r.status, r.headers, r.read()


class LoadError(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def error_doc(e, kind=None):
    tb = traceback.format_list(traceback.extract_tb(e.__traceback__))
    return {
        "errorMessage": str(e),
        "errorType": kind or type(e).__name__,
        "requestId": "",
        "stackTrace": tb,
    }


def load():
    handler = env.get("_HANDLER", "")
    module, _, name = handler.rpartition(".")
    if not module or not name:
        raise LoadError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': expected MODULE.FUNCTION")
    sys.path.insert(0, env["LAMBDA_TASK_ROOT"])
    try:
        mod = importlib.import_module(module.replace("/", "."))
    except ImportError as e:
        raise LoadError("Runtime.ImportModuleError", f"Unable to import module '{module}': {e}")
    except SyntaxError as e:
        raise LoadError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module}': {e}")
    fn = getattr(mod, name, None)
    if not callable(fn):
        raise LoadError("Runtime.HandlerNotFound", f"Handler '{name}' missing on module '{module}'")
    return fn


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        cc = headers.get("Lambda-Runtime-Client-Context")
        self.client_context = json.loads(cc) if cc else None
        self.identity = None
        self._deadline = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))

    def get_remaining_time_in_millis(self):
        return self._deadline - int(time.time() * 1000)


def main():
    try:
        fn = load()
    except Exception as e:
        doc = error_doc(e, getattr(e, "kind", None))
        print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", file=sys.stderr)
        call("POST", "init/error", json.dumps(doc), {"Lambda-Runtime-Function-Error-Type": doc["errorType"]})
        sys.exit(1)
    while True:
        try:
            status, headers, body = call("GET", "invocation/next")
        except (OSError, http.client.HTTPException):
            sys.exit(0)  # sls stopped: this worker goes with it
        if status != 200:
            sys.exit(0)
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        os.environ["_X_AMZN_TRACE_ID"] = headers.get("Lambda-Runtime-Trace-Id", "")
        try:
            event = json.loads(body) if body else None
        except ValueError:
            event = body.decode("utf-8", "replace")
        try:
            result = fn(event, Context(headers))
            out = json.dumps(result)
        except Exception as e:
            doc = error_doc(e)
            print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", file=sys.stderr)
            call("POST", f"invocation/{request_id}/error", json.dumps(doc),
                 {"Lambda-Runtime-Function-Error-Type": doc["errorType"]})
            continue
        call("POST", f"invocation/{request_id}/response", out)


main()
