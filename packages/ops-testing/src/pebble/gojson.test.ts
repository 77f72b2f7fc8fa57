// Go json.Decoder behaviour and error texts (encoding/json scanner.go and decode.go).
import { GoJsonError, decodeGoJson, goBool, goInt, goString, goStrings, type GoType } from './gojson.js';

const T: GoType = {
  kind: 'struct',
  name: '',
  fields: {
    action: goString,
    combine: goBool,
    services: goStrings,
    files: { kind: 'slice', name: '[]daemon.writeFilesItem', elem: { kind: 'struct', name: 'writeFilesItem', fields: { path: goString, 'user-id': goInt } } },
  },
};
const decode = (text: string) => decodeGoJson(Buffer.from(text), T);
const errorOf = (text: string) => {
  try {
    decode(text);
  } catch (e) {
    expect(e).toBeInstanceOf(GoJsonError);
    return (e as Error).message;
  }
  throw new Error('no error');
};

describe('decodeGoJson', () => {
  test('first value only, keys case-insensitive, unknown keys and nulls ignored', () => {
    expect(decode('{"ACTION":"add","x":1,"combine":null} trailing garbage')).toEqual({ action: 'add' });
    expect(decode('null')).toEqual({});
  });

  test.each([
    ['', 'EOF'],
    ['  \n', 'EOF'],
    ['{"action":', 'unexpected EOF'],
    ['{"action":"a"', 'unexpected EOF'],
    ['x', "invalid character 'x' looking for beginning of value"],
    ['{action: 1}', "invalid character 'a' looking for beginning of object key string"],
    ['{"a",1}', "invalid character ',' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['{"a":[1 2]}', "invalid character '2' after array element"],
    ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"a":-x}', "invalid character 'x' in numeric literal"],
    ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
    ['{"a":"\\q"}', "invalid character 'q' in string escape code"],
    ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ['{"a":"x\ny"}', "invalid character '\\n' in string literal"],
  ])('syntax %j: %s', (text, message) => {
    expect(errorOf(text)).toBe(message);
  });

  test('type errors name the struct and the field path, first one wins', () => {
    expect(errorOf('{"combine":"yes","action":1}')).toBe('json: cannot unmarshal string into Go struct field .combine of type bool');
    expect(errorOf('{"services":"a"}')).toBe('json: cannot unmarshal string into Go struct field .services of type []string');
    expect(errorOf('{"services":[1]}')).toBe('json: cannot unmarshal number into Go struct field .services of type string');
    expect(errorOf('{"files":[{"path":"/x","user-id":1.5}]}')).toBe(
      'json: cannot unmarshal number 1.5 into Go struct field writeFilesItem.files.user-id of type int',
    );
    expect(errorOf('{"files":{}}')).toBe('json: cannot unmarshal object into Go struct field .files of type []daemon.writeFilesItem');
  });
});
