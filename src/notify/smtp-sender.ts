/**
 * Sending email over SMTP with nodemailer. TLS: implicit (`secure`, port 465)
 * or STARTTLS, which is required unless the settings say otherwise; the server
 * certificate is verified (against `ca` when given). The password comes from an
 * environment variable and is never logged or put in an error message.
 */
import nodemailer from 'nodemailer';
import { JmlError } from '../domain/errors.ts';
import type { RenderedEmail } from './email-templates.ts';

export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS from the first byte (SMTPS). */
  readonly secure: boolean;
  /** Refuse to send unless the server upgrades with STARTTLS (default true; ignored when `secure`). */
  readonly requireTls: boolean;
  /** PEM of the CA that signs the server's certificate, when it is not a public one. */
  readonly ca?: string;
  readonly from: string;
  readonly user?: string;
  /** Name of the environment variable holding the password. */
  readonly passwordEnv?: string;
}

export interface EmailSender {
  /** Sends one email; resolves with the server's message id. @throws JmlError('unavailable', retryable) when the server cannot be reached or refuses. */
  send(email: RenderedEmail): Promise<string>;
  close(): void;
}

/**
 * An SMTP sender for `settings`.
 * @example const sender = createSmtpSender({ host: 'smtp.example.test', port: 587, secure: false, requireTls: true, from: 'jml@example.test' });
 */
export function createSmtpSender(settings: SmtpSettings, env: NodeJS.ProcessEnv = process.env): EmailSender {
  const password = settings.passwordEnv ? env[settings.passwordEnv] : undefined;
  if (settings.passwordEnv && !password) throw new JmlError('invalid_input', `SMTP password variable ${settings.passwordEnv} is not set`);
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    requireTLS: !settings.secure && settings.requireTls,
    tls: { rejectUnauthorized: true, ...(settings.ca ? { ca: settings.ca } : {}), servername: settings.host },
    ...(settings.user ? { auth: { user: settings.user, pass: password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    async send(email) {
      try {
        const info = await transport.sendMail({ from: settings.from, to: email.to, subject: email.subject, text: email.text, html: email.html });
        return String(info.messageId);
      } catch (cause) {
        // nodemailer's message names the host and the SMTP reply, never the password.
        throw new JmlError('unavailable', `email to ${email.to} not sent through ${settings.host}:${settings.port}: ${(cause as Error).message}`, { cause, retryable: true });
      }
    },
    close: () => transport.close(),
  };
}
