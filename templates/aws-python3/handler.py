import json
import os
from datetime import datetime, timezone

# Module scope runs once per cold start and is kept while the worker stays warm.
STARTED_AT = datetime.now(timezone.utc).isoformat()


def hello(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(
            {
                "message": "Hello from my-service",
                "stage": os.environ.get("STAGE"),
                "path": event.get("rawPath"),
                "coldStartAt": STARTED_AT,
            }
        ),
    }
