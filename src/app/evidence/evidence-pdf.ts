/**
 * Prints the report to PDF with Chromium (Debian's /usr/bin/chromium, or
 * JML_CHROMIUM) driven by playwright-core. The page loads nothing from the
 * network: the report is self-contained.
 */
import { JmlError } from '../../domain/errors.ts';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Renders `html` to a PDF file at `file`. */
export async function printPdf(html: string, file: string, executablePath = process.env.JML_CHROMIUM || '/usr/bin/chromium'): Promise<void> {
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (cause) {
    throw new JmlError('unavailable', 'the PDF needs playwright-core and Chromium; build with --no-pdf to skip it', { cause });
  }
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS }).catch((cause: unknown) => {
    throw new JmlError('unavailable', `cannot start Chromium at ${executablePath} to print the PDF (${(cause as Error).message.split('\n')[0]}); set JML_CHROMIUM or build with --no-pdf`, { cause });
  });
  try {
    const page = await browser.newPage();
    await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
    await page.setContent(html, { waitUntil: 'load' });
    await page.pdf({ path: file, format: 'A4', printBackground: true, margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' } });
  } finally {
    await browser.close();
  }
}
