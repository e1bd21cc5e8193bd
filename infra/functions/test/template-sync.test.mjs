// The edge template embeds each function's code inline (CloudFormation has no file reference for
// AWS::CloudFront::Function). This test keeps those copies byte-identical to the tested files.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { FUNCTIONS_DIR, readSource } from './harness.mjs';

const TEMPLATE = path.resolve(FUNCTIONS_DIR, '..', 'templates', 'edge.yaml');

// Returns [{ file, code }] for each `FunctionCode: |` block, `file` taken from the resource's
// FunctionConfig Comment "(infra/functions/<file>)".
function embeddedFunctions(yaml) {
    const lines = yaml.split('\n');
    const blocks = [];
    for (let i = 0; i < lines.length; i++) {
        const m = /^(\s*)FunctionCode: \|$/.exec(lines[i]);
        if (!m) continue;
        let file = null;
        for (let j = i - 1; j >= 0 && !/^  \S/.test(lines[j]); j--) {
            const f = /infra\/functions\/([\w.-]+\.js)/.exec(lines[j]);
            if (f) file = f[1];
        }
        // Like YAML: the block's indentation is that of its first non-empty line.
        let k = i + 1;
        while (k < lines.length && lines[k].trim() === '') k++;
        const indent = lines[k].length - lines[k].trimStart().length;
        assert.ok(indent > m[1].length, `FunctionCode block after line ${i + 1} is empty`);
        const body = [];
        let j = i + 1;
        for (; j < lines.length; j++) {
            const line = lines[j];
            if (line.trim() === '') {
                body.push('');
                continue;
            }
            if (line.length - line.trimStart().length < indent) break;
            body.push(line.substring(indent));
        }
        while (body.length && body[body.length - 1] === '') body.pop();
        blocks.push({ file, code: body.join('\n') + '\n' });
        i = j - 1;
    }
    return blocks;
}

test('edge.yaml embeds every function file verbatim, and nothing else', () => {
    const blocks = embeddedFunctions(readFileSync(TEMPLATE, 'utf8'));
    const files = readdirSync(FUNCTIONS_DIR).filter((f) => f.endsWith('.js')).sort();
    assert.deepEqual(blocks.map((b) => b.file).sort(), files, 'one FunctionCode block per infra/functions/*.js');
    for (const { file, code } of blocks) {
        assert.equal(code, readSource(file), `FunctionCode of ${file} in templates/edge.yaml differs from infra/functions/${file}`);
    }
});

test('every function fits CloudFront limits (10 KB of code)', () => {
    for (const file of readdirSync(FUNCTIONS_DIR).filter((f) => f.endsWith('.js'))) {
        assert.ok(Buffer.byteLength(readSource(file)) <= 10240, `${file} exceeds 10 KB`);
    }
});
