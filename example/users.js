'use strict';

// In-memory stand-in for the users table named in USERS_TABLE: enough to show the request and
// response shapes of both API kinds (HTTP API payload 2.0 and REST payload 1.0).
const users = new Map([['1', { id: '1', name: 'Ada' }]]);

const reply = (statusCode, body) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

exports.list = async () => reply(200, { stage: process.env.STAGE, users: [...users.values()] });

exports.get = async (event) => {
  const id = event.pathParameters && event.pathParameters.id;
  const user = users.get(id);
  return user ? reply(200, user) : reply(404, { message: `no user ${id}` });
};

exports.create = async (event) => {
  let input;
  try {
    input = JSON.parse(event.body || '{}');
  } catch {
    return reply(400, { message: 'body must be JSON' });
  }
  if (!input.name) return reply(400, { message: 'name is required' });
  const id = String(users.size + 1);
  users.set(id, { id, name: input.name });
  return reply(201, users.get(id));
};
