/**
 * The page `requestSignupUrl` points at, standing in for Google's Managed Google Play signup: a form
 * whose submission (POST) answers 303 to `https://{hostName}/?enterpriseToken=T`, as Google's signup
 * returns the admin to Intune. Served by Enrollgraph itself, no outside asset.
 */
import type { FastifyPluginAsync } from 'fastify';
import { SIGNUP_PATH, type ManagedPlay } from '../enrollment/managedPlay.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const page = (body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Managed Google Play signup (Enrollgraph stand-in)</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">${body}</body></html>`;

const GONE = page('<h1>Signup link not valid</h1><p>This signup link is unknown or was used already. Ask Intune for a new one (requestSignupUrl).</p>');

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};

export const managedPlaySignupPage: FastifyPluginAsync<{ managedPlay: ManagedPlay }> = async (app, { managedPlay }) => {
  app.get<{ Params: { id: string } }>(`${SIGNUP_PATH}/:id`, async (req, reply) => {
    const link = await managedPlay.signupPage(req.params.id);
    if (!link) return reply.code(404).headers(HEADERS).send(GONE);
    // The submission is answered with a redirect to https://{hostName}: form-action must allow it, or
    // browsers (Chromium) block the submission itself. hostName is a validated host[:port].
    const csp = HEADERS['content-security-policy'].replace("form-action 'self'", `form-action 'self' https://${link.hostName}`);
    return reply.headers({ ...HEADERS, 'content-security-policy': csp }).send(page(`<h1>Bind Managed Google Play</h1>
<p>This page stands in for Google's signup. Submitting it creates a Managed Google Play enterprise for the tenant and returns to
<strong>${esc(link.hostName)}</strong> with an enterprise token, which <code>completeSignup</code> takes.</p>
<form method="post"><button type="submit">Sign up and return to ${esc(link.hostName)}</button></form>`));
  });
  app.post<{ Params: { id: string } }>(`${SIGNUP_PATH}/:id`, async (req, reply) => {
    const target = await managedPlay.submitSignup(req.params.id);
    if (!target) return reply.code(404).headers(HEADERS).send(GONE);
    return reply.code(303).header('location', target).header('cache-control', 'no-store').send();
  });
};
