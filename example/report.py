"""Daily report: runs on a schedule and answers GET /reports/latest."""
import json
import os
from datetime import datetime, timezone


def handler(event, context):
    report = {
        "generatedAt": datetime.now(timezone.utc).isoformat(),
        "bucket": os.environ.get("REPORT_BUCKET"),
        "trigger": "http" if "requestContext" in event else "schedule",
    }
    if report["trigger"] == "http":
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(report),
        }
    print(json.dumps(report))
    return report
