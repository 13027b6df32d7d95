// sls's bootstrap for Node.js functions run locally: a Lambda Runtime API client. It loads the
// handler named by _HANDLER from LAMBDA_TASK_ROOT once (module state survives between
// invocations, as in a warm Lambda), then asks for invocations until it is stopped.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const env = process.env;
const [host, port] = env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function call(method, what, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, method, path: '/2018-06-01/runtime/' + what, agent, headers: headers || {} },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function named(message, name) {
  const e = new Error(message);
  e.name = name;
  return e;
}

function errorDoc(e) {
  if (e instanceof Error) {
    const stack = (e.stack || '').split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
    return { errorType: e.name || 'Error', errorMessage: e.message, stackTrace: stack };
  }
  return { errorType: typeof e, errorMessage: String(e), stackTrace: [] };
}

async function load() {
  const handler = env._HANDLER || '';
  const dot = handler.lastIndexOf('.');
  if (dot < 1 || dot === handler.length - 1) {
    throw named(`Bad handler ${handler}: expected FILE.FUNCTION`, 'Runtime.MalformedHandlerName');
  }
  const file = handler.slice(0, dot);
  const name = handler.slice(dot + 1);
  const base = path.resolve(env.LAMBDA_TASK_ROOT, file);
  let mod;
  for (const ext of ['.js', '.mjs', '.cjs']) {
    if (!fs.existsSync(base + ext)) continue;
    if (ext === '.mjs') {
      mod = await import(pathToFileURL(base + ext).href);
    } else {
      try {
        mod = require(base + ext);
      } catch (e) {
        if (e.code !== 'ERR_REQUIRE_ESM') throw e;
        mod = await import(pathToFileURL(base + ext).href);
      }
    }
    break;
  }
  if (!mod) throw named(`Cannot find module '${file}'`, 'Runtime.ImportModuleError');
  const fn = mod[name] !== undefined ? mod[name] : mod.default && mod.default[name];
  if (typeof fn !== 'function') throw named(`${file}.${name} is undefined or not exported`, 'Runtime.HandlerNotFound');
  return fn;
}

function run(fn, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (err, result) => (err ? reject(err) : resolve(result));
    context.done = callback;
    context.succeed = (r) => resolve(r);
    context.fail = (e) => reject(e);
    try {
      const r = fn(event, context, callback);
      if (r && typeof r.then === 'function') r.then(resolve, reject);
      else if (fn.length < 3) resolve(r);
    } catch (e) {
      reject(e);
    }
  });
}

(async () => {
  let fn;
  try {
    fn = await load();
  } catch (e) {
    const doc = errorDoc(e);
    console.error(`${doc.errorType}: ${doc.errorMessage}`);
    await call('POST', 'init/error', JSON.stringify(doc), { 'Lambda-Runtime-Function-Error-Type': doc.errorType });
    process.exit(1);
  }
  for (;;) {
    // sls stopped: this worker goes with it.
    const next = await call('GET', 'invocation/next').catch(() => process.exit(0));
    if (next.status !== 200) process.exit(0);
    const h = next.headers;
    const id = h['lambda-runtime-aws-request-id'];
    const deadline = Number(h['lambda-runtime-deadline-ms']);
    const context = {
      awsRequestId: id,
      invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: h['lambda-runtime-client-context'] ? JSON.parse(h['lambda-runtime-client-context']) : undefined,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    process.env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'] || '';
    let event;
    try {
      event = JSON.parse(next.body);
    } catch (e) {
      event = next.body;
    }
    try {
      const result = await run(fn, event, context);
      await call('POST', `invocation/${id}/response`, JSON.stringify(result === undefined ? null : result));
    } catch (e) {
      const doc = errorDoc(e);
      console.error(`${doc.errorType}: ${doc.errorMessage}`);
      await call('POST', `invocation/${id}/error`, JSON.stringify(doc), { 'Lambda-Runtime-Function-Error-Type': doc.errorType });
    }
  }
})();
