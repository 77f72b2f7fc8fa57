/**
 * The log forwarder's rules (the charm-level behaviour is tested in the simulators:
 * tests/model-sim-logging.test.ts and charm/charm.test.ts).
 */
import { logTargetChanges, pushUrl } from './log-forwarder.js';

const LABELS = { product: 'Juju', juju_unit: 'c/0' };
const URL0 = 'http://loki-0:3100/loki/api/v1/push';

test('pushUrl: the url of loki_push_api endpoint JSON; anything else is none', () => {
  expect(pushUrl(JSON.stringify({ url: URL0 }))).toBe(URL0);
  expect([undefined, '', 'not json', '{}', '{"url": 3}', '{"url": "ftp://x"}'].map(pushUrl)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
});

test('new endpoints are enabled; targets already right are left alone', () => {
  const changes = logTargetChanges({}, new Map([['loki/0', URL0]]), LABELS);
  expect(changes).toEqual({ 'loki/0': { override: 'replace', type: 'loki', location: URL0, services: ['all'], labels: LABELS } });
  expect(logTargetChanges({ 'loki/0': changes['loki/0']! }, new Map([['loki/0', URL0]]), LABELS)).toEqual({});
});

test('a moved endpoint is replaced; one no longer related is disabled, once', () => {
  const current = { 'loki/0': { type: 'loki' as const, location: URL0, services: ['all'], labels: LABELS } };
  expect(logTargetChanges(current, new Map([['loki/0', 'http://elsewhere/push']]), LABELS)['loki/0']!.location).toBe('http://elsewhere/push');
  const disabled = logTargetChanges(current, new Map(), LABELS);
  expect(disabled).toEqual({ 'loki/0': { override: 'replace', type: 'loki', location: URL0, services: ['-all'] } });
  expect(logTargetChanges({ 'loki/0': disabled['loki/0']! }, new Map(), LABELS)).toEqual({});
});
