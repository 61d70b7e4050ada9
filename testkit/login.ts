import type { FastifyInstance } from 'fastify';
import type { BrowserContext, Page } from 'playwright-core';
import type { Role } from '../server/access.js';
import type { TestBrowser } from './browser.js';
import { ROLE_USERS, ZEV_BERN_USERS } from './users.js';

/** Log in through the API as a browser would; returns the `cookie` header for later requests. */
export async function loginCookie(app: FastifyInstance, username: string, password: string): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { origin: 'http://localhost' },
    payload: { username, password },
  });
  if (res.statusCode !== 200) throw new Error(`login as ${username} failed: ${res.statusCode} ${res.body}`);
  return String(res.headers['set-cookie']).split(';')[0]!;
}

/** Log in as the ROLE_USERS user of `role`; its `cookie` header. */
export const roleCookie = (app: FastifyInstance, role: Role): Promise<string> =>
  loginCookie(app, ROLE_USERS[role].username, ROLE_USERS[role].password);

/** Log in each of these ROLE_USERS through the API; their `cookie` headers by role. */
export async function roleCookies<R extends Role>(
  app: FastifyInstance,
  roles: readonly R[],
): Promise<Record<R, string>> {
  const cookies = {} as Record<R, string>;
  for (const role of roles) cookies[role] = await roleCookie(app, role);
  return cookies;
}

/**
 * Log in on the login form in a fresh page of `context` (its cookies cleared first, so one
 * browser serves several users) and wait until the app lands on `landing` (a hash route).
 */
export async function loginPage(
  context: BrowserContext,
  base: string,
  user: { username: string; password: string },
  landing: string,
): Promise<Page> {
  await context.clearCookies();
  const page = await context.newPage();
  await page.goto(base);
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`**/${landing}`);
  return page;
}

/** `loginPage` in `browser` (a launched one) as the ZEV_BERN_USERS user of `role`. */
export const zevBernLoginPage = (
  browser: TestBrowser | undefined,
  base: string,
  role: keyof typeof ZEV_BERN_USERS,
  landing: string,
): Promise<Page> => loginPage(browser!.context, base, ZEV_BERN_USERS[role], landing);
