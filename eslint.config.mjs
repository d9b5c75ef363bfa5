import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const io = ['@nestjs/*', 'typeorm', '@nestjs/typeorm', 'pg', 'amqplib', '@kurrent/*', 'express', 'fs', 'node:fs', 'http', 'node:http', 'net', 'node:net'];

export default tseslint.config(
  { ignores: ['**/dist', '**/node_modules', '**/coverage', '.nx/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:util'], bannedExternalImports: io },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'], bannedExternalImports: io.filter((d) => !d.includes('fs')) },
            { sourceTag: 'type:application', onlyDependOnLibsWithTags: ['type:domain', 'type:util', 'type:platform'], bannedExternalImports: ['@nestjs/*', 'typeorm', '@nestjs/typeorm', 'amqplib', 'express'] },
            { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:platform', 'type:util'] },
            { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:platform', 'type:util', 'type:domain', 'type:application'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:platform', 'type:util'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:platform', 'type:util', 'type:domain', 'type:application', 'type:infra', 'type:testing'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:platform', 'type:util', 'type:domain', 'type:application', 'type:infra', 'type:testing'] },
            { sourceTag: 'scope:portfolio', onlyDependOnLibsWithTags: ['scope:portfolio', 'scope:shared'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
