import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const io = ['@nestjs/*', 'typeorm', '@nestjs/typeorm', 'pg', 'amqplib', '@kurrent/*', 'express', 'fs', 'node:fs', 'http', 'node:http', 'net', 'node:net'];

const layers = {
  'type:domain': ['type:domain', 'type:util'],
  'type:util': ['type:util'],
  'type:application': ['type:domain', 'type:util', 'type:platform'],
  'type:platform': ['type:platform', 'type:util'],
  'type:infra': ['type:platform', 'type:util', 'type:domain', 'type:application'],
  'type:testing': ['type:platform', 'type:util'],
  'type:app': ['type:platform', 'type:util', 'type:domain', 'type:application', 'type:infra', 'type:testing'],
  'type:tool': ['type:platform', 'type:util', 'type:domain', 'type:application', 'type:infra', 'type:testing', 'type:tool'],
};
const banned = {
  'type:domain': io,
  'type:util': io.filter((d) => !d.includes('fs')),
  'type:application': ['@nestjs/*', 'typeorm', '@nestjs/typeorm', 'amqplib', 'express'],
};

/** Layer rules; tests (and test-support folders) may also use the testing library and the simulators in tools/. */
function boundaries(extraTags) {
  return {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [
      ...Object.entries(layers).map(([sourceTag, tags]) => ({
        sourceTag,
        onlyDependOnLibsWithTags: [...tags, ...extraTags],
        ...(banned[sourceTag] ? { bannedExternalImports: banned[sourceTag] } : {}),
      })),
      { sourceTag: 'scope:portfolio', onlyDependOnLibsWithTags: ['scope:portfolio', 'scope:shared'] },
    ],
  };
}

export default tseslint.config(
  { ignores: ['**/dist', '**/node_modules', '**/coverage', '.nx/**'] },
  ...tseslint.configs.recommended,
  { files: ['**/*.js'], languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': ['error', boundaries([])],
    },
  },
  {
    files: ['**/*.spec.ts', '**/src/testing/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@nx/enforce-module-boundaries': ['error', boundaries(['type:testing', 'type:tool'])],
    },
  },
);
