'use strict';

// Module scope runs once per cold start and is kept while the worker stays warm.
const startedAt = new Date().toISOString();

module.exports.hello = async (event) => {
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      message: 'Hello from my-service',
      stage: process.env.STAGE,
      path: event.rawPath,
      coldStartAt: startedAt,
    }),
  };
};
