// Checks of the page's controls and failure handling, in Debian's headless Chromium with a fake camera.
// usage: node page_checks.mjs URL CLIP.y4m OUT_DIR MASK.json
// MASK.json: {prob, box, cw, ch, w, h, threshold}, a canvas probability map made by Python.
// Writes OUT_DIR/checks.json (with the page's frame-size mask for MASK.json) and the output canvas's
// pixels with the blur effect as OUT_DIR/blur.png, which tests/browser/test_page.py compares with Python.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchWithFakeCamera } from "./chromium.mjs";

const [url, clip, outDir, maskJson] = process.argv.slice(2);
const base = url.replace(/\/$/, "");
const frames = (page) => page.evaluate(() => window.humanseg.state.frames);
const waitFrames = (page, n) =>
  page.waitForFunction((k) => window.humanseg && window.humanseg.state.frames >= k, n, { timeout: 120000 });

const browser = await launchWithFakeCamera(clip);
const context = await browser.newContext();
const logs = [];
const checks = { logs };

async function open(path, setup) {
  const page = await context.newPage();
  page.on("console", (m) => logs.push(`${path} ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`${path} pageerror: ${e.message}`));
  if (setup) await setup(page);
  await page.goto(base + path);
  return page;
}

try {
  // 1. the runtime script cannot be loaded (the npm build was not run): an error is shown on the page
  {
    const page = await open("/", (p) => p.route("**/vendor/ort.all.min.mjs",
      (route) => route.fulfill({ status: 404, contentType: "application/json", body: '{"error": "nothing"}' })));
    await page.waitForSelector("#error:not([hidden])", { timeout: 30000 });
    checks.runtime_missing = { error: await page.textContent("#error"), status: await page.textContent("#status") };
    await page.close();
  }

  // 2. comments typed by the user are drawn behind the person
  {
    const page = await open("/", (p) => p.addInitScript(() => {
      window.__drawn = [];
      const fill = CanvasRenderingContext2D.prototype.fillText;
      CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
        window.__drawn.push(String(text));
        return fill.call(this, text, ...rest);
      };
    }));
    await waitFrames(page, 2);
    await page.fill("#comments", "first comment\nsecond one");
    const after = await frames(page);
    await page.evaluate(() => { window.__drawn = []; });
    await waitFrames(page, after + 3);
    checks.comments = await page.evaluate(() => ({
      state: window.humanseg.state.comments, effect: document.getElementById("effect").value,
      drawn: [...new Set(window.__drawn)],
    }));

    // 3. a frame that throws: the error is shown and the loop goes on
    await page.evaluate(() => {
      const get = CanvasRenderingContext2D.prototype.getImageData;
      let armed = true;
      CanvasRenderingContext2D.prototype.getImageData = function (...args) {
        if (armed) { armed = false; throw new Error("injected failure"); }
        return get.apply(this, args);
      };
    });
    await page.waitForSelector("#error:not([hidden])", { timeout: 30000 });
    const atError = await frames(page);
    const error = await page.textContent("#error");
    await waitFrames(page, atError + 3);
    checks.frame_error = { error, frames_at_error: atError, frames_after: await frames(page),
                           errors: await page.evaluate(() => window.humanseg.state.errors),
                           stopped: await page.evaluate(() => window.humanseg.state.stopped) };
    await page.close();
  }

  // 4. the frame-size mask from Python's probability map, and the blur effect's pixels
  {
    const page = await open("/?effect=blur&width=640&height=360");
    await waitFrames(page, 6);
    const png = await page.evaluate(() => document.getElementById("output").toDataURL("image/png"));
    writeFileSync(join(outDir, "blur.png"), Buffer.from(png.split(",")[1], "base64"));
    const m = JSON.parse(readFileSync(maskJson, "utf8"));
    checks.mask = await page.evaluate((a) => window.humanseg.maskAtFrameSize(a.prob, a.box, a.cw, a.ch, a.w, a.h,
                                                                           a.threshold), m);
    await page.close();
  }
} finally {
  writeFileSync(join(outDir, "checks.json"), JSON.stringify(checks));
  await browser.close();
}
console.log(JSON.stringify({ ...checks, mask: undefined, logs: logs.slice(-10) }));
