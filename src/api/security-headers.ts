/**
 * Response headers that tell the browser what the console may do. The built
 * console is one script file and one stylesheet from this origin (no inline
 * script, no eval), so the policy allows nothing else: an injected `<script>`
 * or a form posting elsewhere is refused by the browser.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * `img-src data:` is the inline SVG favicon; `style-src` stays 'self' because
 * React sets element styles through the DOM (allowed), never style attributes
 * in markup.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** One year; sent only over TLS (a browser ignores it over http, and it must not pin a plain-http deployment). */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000';

/**
 * Sets the security headers on every response; HSTS only when the request came
 * over TLS (directly, or per X-Forwarded-Proto from a trusted proxy).
 */
export function setSecurityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'same-origin');
  reply.header('x-frame-options', 'DENY');
  if (request.protocol === 'https') reply.header('strict-transport-security', STRICT_TRANSPORT_SECURITY);
}
