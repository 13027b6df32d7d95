import json


def process(body):
    """The work for one message; raise to have the message retried."""
    job = json.loads(body)
    if "id" not in job:
        raise ValueError("a job needs an id")
    return job["id"]


def worker(event, context):
    # Report only the failed messages: the others are deleted from the queue, these come back.
    failures = []
    for record in event.get("Records", []):
        try:
            process(record["body"])
        except Exception as e:  # noqa: BLE001 - any failure means retry this message
            print(json.dumps({"messageId": record["messageId"], "error": str(e)}))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
