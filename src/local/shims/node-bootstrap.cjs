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

// Loads a module as Lambda's Node.js runtime does: `.mjs` as ES module, `.cjs` as CommonJS, `.js`
// by require, falling back to import() when it is an ES module (a package with "type": "module",
// or top-level await).
async function loadModule(file) {
  if (file.endsWith('.mjs')) return import(pathToFileURL(file).href);
  try {
    return require(file);
  } catch (e) {
    if (e.code !== 'ERR_REQUIRE_ESM' && e.code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
    return import(pathToFileURL(file).href);
  }
}

// `a.b.c` of `obj`, or undefined.
function walk(obj, names) {
  let v = obj;
  for (const n of names) {
    if (v === undefined || v === null) return undefined;
    v = v[n];
  }
  return v;
}

async function load() {
  const handler = env._HANDLER || '';
  // As Lambda splits it: the file is up to the first `.` of its base name, the rest a path of
  // (possibly nested) exports.
  const slash = handler.lastIndexOf('/') + 1;
  const dot = handler.indexOf('.', slash);
  if (dot < 1 || dot === handler.length - 1) {
    throw named(`Bad handler ${handler}: expected FILE.FUNCTION`, 'Runtime.MalformedHandlerName');
  }
  const file = handler.slice(0, dot);
  const names = handler.slice(dot + 1).split('.');
  const base = path.resolve(env.LAMBDA_TASK_ROOT, file);
  const found = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!found) throw named(`Cannot find module '${file}'`, 'Runtime.ImportModuleError');
  const mod = await loadModule(found);
  let fn = walk(mod, names);
  // A CommonJS module imported as ESM keeps its exports under `default`.
  if (fn === undefined) fn = walk(mod.default, names);
  if (typeof fn !== 'function') {
    throw named(`${file}.${names.join('.')} is undefined or not exported`, 'Runtime.HandlerNotFound');
  }
  return fn;
}

// The current invocation's way to finish when the event loop empties without an answer.
let onEmptyLoop = null;
process.on('beforeExit', () => {
  if (onEmptyLoop) onEmptyLoop();
});

// Runs one invocation with the Node.js runtime's rules: a promise's value is the result; a
// handler that does not return a promise answers through the callback or `context.done`,
// `succeed`, `fail` — whenever it calls them — and with null if the event loop empties first.
// The value a non-async handler returns is ignored, as Lambda ignores it.
function run(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err, result) => {
      if (settled) return;
      settled = true;
      onEmptyLoop = null;
      if (err !== null && err !== undefined) reject(err);
      else resolve(result);
    };
    context.done = finish;
    context.succeed = (r) => finish(null, r);
    context.fail = (e) => finish(e === undefined || e === null ? new Error('handled') : e);
    onEmptyLoop = () => finish(null, null);
    try {
      const r = fn(event, context, finish);
      if (r && typeof r.then === 'function') r.then((v) => finish(null, v), (e) => finish(e === undefined ? new Error('undefined') : e));
    } catch (e) {
      finish(e);
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
