import { REDACTED, Redactor, redactorFromConfig, redactorFromEnv, redactUrlUserinfo } from './redact.js';

describe('Redactor', () => {
  test('every occurrence of a configured value becomes [redacted], also URL-encoded and JSON-escaped', () => {
    const r = new Redactor(['s3cr3t/t0ken+"q"']);
    const text = `a s3cr3t/t0ken+"q" b ${encodeURIComponent('s3cr3t/t0ken+"q"')} c ${JSON.stringify({ t: 's3cr3t/t0ken+"q"' })} s3cr3t/t0ken+"q"`;
    const out = r.redact(text);
    expect(out).toBe(`a ${REDACTED} b ${REDACTED} c {"t":"${REDACTED}"} ${REDACTED}`);
    expect(JSON.parse(r.redact(JSON.stringify({ message: 'got s3cr3t/t0ken+"q"' })))).toEqual({ message: `got ${REDACTED}` });
  });

  test('values shorter than 4 characters are ignored (they would mangle ordinary text)', () => {
    const r = new Redactor(['abc', undefined, '']);
    expect(r.size).toBe(0);
    expect(r.redact('abc abcd')).toBe('abc abcd');
  });

  test('a value that extends another is redacted whole', () => {
    const r = new Redactor(['token', 'token-long']);
    expect(r.redact('x token-long y token z')).toBe(`x ${REDACTED} y ${REDACTED} z`);
  });

  test('URL userinfo is redacted in any string, known or not; URLs without it are left alone', () => {
    expect(redactUrlUserinfo('GET https://user:pass@host.example:8443/stream/live failed')).toBe(`GET https://${REDACTED}@host.example:8443/stream/live failed`);
    expect(redactUrlUserinfo('{"url":"http://admin@opencti:8080","b":"mailto:x@y.z"}')).toBe(`{"url":"http://${REDACTED}@opencti:8080","b":"mailto:x@y.z"}`);
    expect(redactUrlUserinfo('https://host/path?who=a@b and c@d')).toBe('https://host/path?who=a@b and c@d');
    expect(new Redactor().redact('see https://u:p@h/')).toBe(`see https://${REDACTED}@h/`);
  });

  test('a URL password is registered in both its raw and its percent-encoded form', () => {
    const r = new Redactor().addUrl('https://sync:p%40ss%2Fw0rd@remote.example');
    expect(r.redact('password p@ss/w0rd, encoded p%40ss%2Fw0rd')).toBe(`password ${REDACTED}, encoded ${REDACTED}`);
  });

  test('values can be added after construction (the charm learns secrets as it reads them)', () => {
    const r = new Redactor();
    expect(r.redact('the-token-value')).toBe('the-token-value');
    r.add('the-token-value');
    expect(r.redact('the-token-value')).toBe(REDACTED);
  });
});

describe('the workload redactor', () => {
  test('from the raw environment: both tokens and the URL passwords, whether or not the rest is valid', () => {
    const r = redactorFromEnv({ OPENCTI_TOKEN: 'local-tok-1', REMOTE_OPENCTI_TOKEN: ' remote-tok-2 ', OPENCTI_URL: 'http://u:local-pass@opencti', REMOTE_OPENCTI_URL: 'not a url', CONNECTOR_NAME: 'Remote OpenCTI' });
    expect(r.redact('local-tok-1 remote-tok-2 local-pass Remote OpenCTI')).toBe(`${REDACTED} ${REDACTED} ${REDACTED} Remote OpenCTI`);
  });

  test('from a parsed configuration', () => {
    const r = redactorFromConfig({
      local: { url: 'http://opencti:8080', token: 'local-tok-1', timeoutMs: 1, retryBaseMs: 1, retryMaxMs: 1, synchronizedUpsert: true, applicantId: undefined, protocol: 'amqp' },
      remote: { url: 'https://a:remote-pass@r', token: 'remote-tok-2', streamId: 'live', sslVerify: true, startFrom: undefined, recover: { kind: 'now' }, heartbeatTimeoutMs: 1, maxEventBytes: 1, reconnectBaseMs: 1, reconnectMaxMs: 1, noDependencies: false, listenDelete: true },
    });
    expect(r.redact('local-tok-1/remote-tok-2/remote-pass')).toBe(`${REDACTED}/${REDACTED}/${REDACTED}`);
  });
});
