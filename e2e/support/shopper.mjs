// What the specs do again and again: start the usual stack around a spec file's tests, and the
// steps of a shopper that are not what a spec is about (a new email, signing up, adding to the
// cart, the shipping address).

import { after, before } from 'node:test';
import { startStack } from './stack.mjs';

export { deferred } from './stack.mjs';

/** The password of every account the specs make (the storefront wants 8 characters or more). */
export const PASSWORD = 'correct horse battery';

/**
 * Starts stack.mjs's usual stack before the spec file's first test and stops it after the last;
 * `started` gets it (site, browser, products, api).
 */
export function useStack(started) {
  let stack;
  before(async () => {
    stack = await startStack();
    started(stack);
  });
  after(() => stack?.stop());
}

let emailCounter = 0;

/** An email address no account has yet. */
export function freshEmail() {
  emailCounter += 1;
  return `shopper${process.pid}x${Date.now()}x${emailCounter}@example.com`;
}

/** The first product whose name contains `fragment`. */
export function byName(products, fragment) {
  const product = products.find((p) => p.name.includes(fragment));
  if (!product) throw new Error(`no product's name contains "${fragment}"`);
  return product;
}

/**
 * Signs up on the site at `siteUrl` and waits until logged in; returns the email used. With
 * `throughHeader`, it follows the header's link from the page already open (no page load).
 */
export async function signUp(page, siteUrl, { email = freshEmail(), password = PASSWORD, firstName, throughHeader = false } = {}) {
  if (throughHeader) {
    await page.getByRole('link', { name: 'Sign up', exact: true }).click();
  } else {
    await page.goto(`${siteUrl}/signup`);
  }
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  if (firstName !== undefined) await page.getByLabel('First name (optional)').fill(firstName);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  return email;
}

/** Adds `product` from its page (`quantity` of it, or the page's default) and waits until announced. */
export async function addToCart(page, siteUrl, product, quantity) {
  await page.goto(`${siteUrl}/product/${product.uuid}`);
  if (quantity !== undefined) await page.getByLabel('Quantity').fill(String(quantity));
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByTestId('announcer').filter({ hasText: `Added ${product.name}` }).waitFor();
}

/** Fills the checkout's shipping form with a valid address, on the shipping step. */
export async function fillShippingAddress(page) {
  await page.getByLabel('Full name').fill('Ada Lovelace');
  await page.getByLabel('Address', { exact: true }).fill('12 St James Square');
  await page.getByLabel('City').fill('London');
  await page.getByLabel('Postal code').fill('SW1Y 4JH');
  await page.getByLabel('Country').fill('United Kingdom');
}
