'use strict';

// An EventBridge scheduled event carries the rule's ARN in `resources` and the time it fired.
module.exports.tick = async (event) => {
  const dryRun = process.env.DRY_RUN !== 'false';
  const firedAt = event.time || new Date().toISOString();
  // The job itself goes here: pick a target, act (or only report when dry-running).
  const report = { job: 'my-service', firedAt, dryRun, stage: process.env.STAGE };
  console.log(JSON.stringify(report));
  return report;
};
