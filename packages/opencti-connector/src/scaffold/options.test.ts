/** README rows → config options: names, types, defaults, optional, descriptions, order. */
import { BASE_OPTIONS, inferType, optionsFromRows, type ReadmeRow } from './index.js';

const row = (env: string, mandatory: ReadmeRow['mandatory'], extra: Partial<ReadmeRow> = {}): ReadmeRow => ({ env, mandatory, description: `About ${env}.`, at: 'r.md:1', ...extra });

test('types: boolean from a true/false default, int from a whole-number default or example, else string', () => {
  expect(inferType({ default: 'true' })).toBe('boolean');
  expect(inferType({ default: 'False' })).toBe('boolean');
  expect(inferType({ default: '30' })).toBe('int');
  expect(inferType({ default: '-1' })).toBe('int');
  expect(inferType({ example: '3600' })).toBe('int');
  expect(inferType({ default: '0.5' })).toBe('string');
  expect(inferType({ default: 'PT1H', example: '3600' })).toBe('string'); // the default says it is not a number
  expect(inferType({ example: 'true' })).toBe('string'); // booleans only from defaults
  expect(inferType({})).toBe('string');
});

test('each row but the charm-managed variables becomes an option; mandatory, defaults and descriptions carried over', () => {
  const options = optionsFromRows([
    row('OPENCTI_URL', 'yes'),
    row('OPENCTI_TOKEN', 'yes'),
    row('CONNECTOR_ID', 'yes'),
    row('CONNECTOR_NAME', 'no', { default: 'Feed' }),
    row('CONNECTOR_TYPE', 'yes'),
    row('FEED_API_KEY', 'yes'),
    row('FEED_VERIFY', 'yes', { default: 'true' }),
    row('FEED_PAGE_SIZE', 'no', { default: '100' }),
    row('FEED_SINCE', 'no', { description: 'Optional, where to start.' }),
    row('FEED_REGION', 'conditional', { description: '(optional) Needed for the EU endpoint.' }),
    row('FEED_PAGES', 'no', { example: '5', description: '' }),
  ]);
  expect(options).toEqual({
    // mandatory without a default, alphabetical
    'connector-scope': BASE_OPTIONS['connector-scope'],
    'feed-api-key': { type: 'string', description: 'About FEED_API_KEY.', optional: false },
    // mandatory with a default
    'connector-log-level': { type: 'string', default: 'info', description: 'How much the connector logs: debug, info, warn or error.', optional: false },
    'feed-verify': { type: 'boolean', default: true, description: 'About FEED_VERIFY.', optional: false },
    // optional (Cond. included: it cannot be required of every deployment)
    'feed-page-size': { type: 'int', default: 100, description: '(optional) About FEED_PAGE_SIZE.', optional: true },
    'feed-pages': { type: 'int', description: '(optional) FEED_PAGES', optional: true },
    'feed-region': { type: 'string', description: '(optional) Needed for the EU endpoint.', optional: true },
    'feed-since': { type: 'string', description: '(optional) Where to start.', optional: true },
  });
  expect(Object.keys(options)).toEqual(['connector-scope', 'feed-api-key', 'connector-log-level', 'feed-verify', 'feed-page-size', 'feed-pages', 'feed-region', 'feed-since']);
});

test('connector-scope and connector-log-level are added only when the README does not describe them', () => {
  const options = optionsFromRows([row('CONNECTOR_SCOPE', 'no', { default: 'feed' }), row('CONNECTOR_LOG_LEVEL', 'no', { default: 'error' })]);
  expect(options).toEqual({
    'connector-log-level': { type: 'string', default: 'error', description: '(optional) About CONNECTOR_LOG_LEVEL.', optional: true },
    'connector-scope': { type: 'string', default: 'feed', description: '(optional) About CONNECTOR_SCOPE.', optional: true },
  });
  expect(Object.keys(optionsFromRows([]))).toEqual(['connector-scope', 'connector-log-level']);
});
