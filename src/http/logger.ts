import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Authorization headers and anything named like a key are redacted at the
 * logger, so a careless log call cannot leak a secret.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'eseal' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', '*.key', '*.secret', '*.privateKey', '*.masterKey', 'key', 'secret'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
