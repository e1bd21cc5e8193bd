// Loads a CloudFront Function source file exactly as it is deployed and returns its `handler`.
//
// CloudFront's cloudfront-js-2.0 runtime provides the `cloudfront` module through
// `import cf from 'cloudfront';` and runs the file as a script whose `handler` it calls. Node cannot
// resolve that module, so the harness removes that one import line and evaluates the rest in a fresh
// VM context in which `cf` is a stub recording what the function asked for. Nothing else in the
// source is changed, so the tests exercise the bytes that templates/edge.yaml embeds.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import vm from 'node:vm';

export const FUNCTIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const CF_IMPORT = /^import cf from 'cloudfront';\r?\n/m;

export function readSource(name) {
    return readFileSync(path.join(FUNCTIONS_DIR, name), 'utf8');
}

// kvs: a plain object of key -> string value, or a function (key) => value / throws / rejects.
export function makeCloudFrontStub(kvs = {}) {
    const calls = { selectRequestOriginById: [], updateRequestOrigin: [], kvsGet: [] };
    const stub = {
        calls,
        kvs() {
            return {
                async get(key, options) {
                    calls.kvsGet.push({ key, options });
                    if (typeof kvs === 'function') {
                        return kvs(key);
                    }
                    if (!Object.prototype.hasOwnProperty.call(kvs, key)) {
                        // What the runtime does for a key that is not in the store.
                        throw new Error('KeyNotFound');
                    }
                    return kvs[key];
                },
                async exists(key) {
                    return typeof kvs !== 'function' && Object.prototype.hasOwnProperty.call(kvs, key);
                }
            };
        },
        selectRequestOriginById(id) {
            calls.selectRequestOriginById.push(id);
        },
        updateRequestOrigin(params) {
            calls.updateRequestOrigin.push(params);
        }
    };
    return stub;
}

export function loadHandler(name, cfStub = makeCloudFrontStub()) {
    const source = readSource(name);
    const usesCf = CF_IMPORT.test(source);
    const body = source.replace(CF_IMPORT, '');
    if (/\brequire\s*\(|^\s*import\s|^\s*export\s/m.test(body)) {
        throw new Error(`${name}: only "import cf from 'cloudfront';" may be imported in a CloudFront Function`);
    }
    const logs = [];
    const context = vm.createContext({
        cf: usesCf ? cfStub : undefined,
        console: { log: (...args) => logs.push(args.join(' ')) }
    });
    const handler = vm.runInContext(`${body}\n;handler`, context, { filename: name });
    if (typeof handler !== 'function') {
        throw new Error(`${name} does not define function handler(event)`);
    }
    return { handler, cf: cfStub, logs };
}

// A viewer-request event in the shape CloudFront passes to functions.
export function viewerRequest(uri, method = 'GET') {
    return {
        version: '1.0',
        context: { eventType: 'viewer-request', distributionId: 'EDFDVBD6EXAMPLE', requestId: 'test' },
        viewer: { ip: '192.0.2.10' },
        request: { method, uri, querystring: {}, headers: { host: { value: 'd111111abcdef8.cloudfront.net' } }, cookies: {} }
    };
}
