// The retry wait of a failed webhook delivery: full jitter over an exponential
// ceiling (base 1 s, doubling per receive, capped at 300 s), never 0.
import { expect, it } from "vitest";
import { backoffSeconds } from "../src/objects/partition/webhook.js";

it("is at most base * 2^(receives - 1), capped at 300 s, and at least 1 s", () => {
  const highest = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20].map((receives) => backoffSeconds(receives, 0.999999));
  expect(highest).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
  for (const receives of [1, 2, 5, 30]) expect(backoffSeconds(receives, 0)).toBe(1);
  expect(backoffSeconds(4, 0.5)).toBe(4);
});

it("spreads retries over the whole range (full jitter), not around the ceiling", () => {
  const samples = Array.from({ length: 2000 }, () => backoffSeconds(10));
  expect(Math.min(...samples)).toBeGreaterThanOrEqual(1);
  expect(Math.max(...samples)).toBeLessThanOrEqual(300);
  expect(samples.filter((wait) => wait <= 150).length).toBeGreaterThan(800);
  expect(samples.filter((wait) => wait > 150).length).toBeGreaterThan(800);
});
