// The role users moved to testkit/ (shared beyond server/); the market tests still import them from here.
export { loginCookie } from '../testkit/login.js';
export { addRoleUsers, ROLE_USERS } from '../testkit/users.js';
