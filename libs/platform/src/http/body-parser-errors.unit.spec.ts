import { bodyParserErrorToProblem } from './body-parser-errors';

describe('body parser errors as problems', () => {
  it('maps too large, malformed JSON and unsupported charset to stable types, never echoing the body', () => {
    expect(bodyParserErrorToProblem({ type: 'entity.too.large', status: 413, limit: 1048576 })?.getResponse()).toMatchObject({
      type: 'https://datahub-core.dev/problems/payload-too-large',
      status: 413,
    });
    const malformed = bodyParserErrorToProblem(Object.assign(new SyntaxError('Unexpected token in "{"cpr":"0101901234"'), { type: 'entity.parse.failed', status: 400 }));
    expect(malformed?.getResponse()).toMatchObject({ type: 'https://datahub-core.dev/problems/malformed-json', status: 400 });
    expect(JSON.stringify(malformed?.getResponse())).not.toContain('0101901234');
    expect(bodyParserErrorToProblem({ type: 'charset.unsupported', status: 415 })?.getStatus()).toBe(415);
  });

  it('leaves other errors alone', () => {
    expect(bodyParserErrorToProblem(new Error('boom'))).toBeNull();
    expect(bodyParserErrorToProblem({ type: 'x', status: 500 })).toBeNull();
  });
});
