import { Template } from 'aws-cdk-lib/assertions';
import { natStack } from './helpers';

/**
 * Asset hashes change with every aws-cdk-lib release, and the embedded loader and the fetched
 * scripts' digests with every edit of assets/boot/ (their bytes are asserted in
 * nat-instance-provider.test.ts); the template around
 * them must not change unnoticed.
 */
function normalise(value: unknown): unknown {
  if (typeof value === 'string') {
    return value
      .replace(/[0-9a-f]{64}/g, 'ASSET_HASH')
      .replace(/(base64 -d <<'(\w+)' \| gunzip > (\S+)\n)[\s\S]*?\n\2/g, '$1<gzip+base64 of $3>\n$2');
  }
  if (Array.isArray(value)) {
    return value.map(normalise);
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

test('the default stack matches its snapshot', () => {
  const normalised = normalise(Template.fromStack(natStack()).toJSON());
  const text = JSON.stringify(normalised);
  expect(text.match(/ASSET_HASH\.zip/g)).toHaveLength(2); // the default-SG custom resource and the watchdog
  expect(text.match(/<gzip\+base64 of \/opt\/nat-instance\/(load|nat-lib)\.sh>/g)).toHaveLength(4); // the loader and its library, per NAT
  // Each NAT fetches two scripts (key and digest in its user data) and its role may read them.
  expect(text.match(/--fetch '(configure-nat|nat-bootstrap)\.sh' '[^']+' 'ASSET_HASH\.sh' 'ASSET_HASH' /g)).toHaveLength(4);
  expect(normalised).toMatchSnapshot();
});
