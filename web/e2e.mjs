// Drives the humanseg page in Debian's headless Chromium with a fake camera fed from a .y4m clip.
// usage: node e2e.mjs URL CLIP.y4m OUT_DIR [seconds] [probe.png]
// Writes OUT_DIR/result.json (frames, fps text, backend, probe mask; the served model's info, the live
// canvas map and how many frames were fed the previous mask) and OUT_DIR/page.png.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchWithFakeCamera } from "./chromium.mjs";

const [url, clip, outDir, seconds = "8", probe = ""] = process.argv.slice(2);
const browser = await launchWithFakeCamera(clip);
try {
  const page = await browser.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.humanseg && window.humanseg.state.frames >= 3, null, { timeout: 120000 });
  const start = await page.evaluate(() => ({ frames: window.humanseg.state.frames, t: performance.now() }));
  await page.waitForTimeout(parseFloat(seconds) * 1000);
  const end = await page.evaluate(() => ({ frames: window.humanseg.state.frames, t: performance.now() }));
  const fpsText = await page.textContent("#fps");
  const backend = await page.textContent("#backend");
  const isolated = await page.evaluate(() => self.crossOriginIsolated);
  await page.locator("#output").screenshot({ path: join(outDir, "page.png") });
  let probeResult = null;
  if (probe) {
    const dataUrl = "data:image/png;base64," + readFileSync(probe).toString("base64");
    probeResult = await page.evaluate((u) => window.humanseg.maskOfImage(u), dataUrl);
  }
  const live = await page.evaluate(() => ({ model: window.humanseg.state.model, map: window.humanseg.liveProbability(),
                                             prior_frames: window.humanseg.state.priorFrames,
                                             errors: window.humanseg.state.errors }));
  const result = { frames: end.frames, measured_fps: (end.frames - start.frames) / ((end.t - start.t) / 1000),
                   fps_text: fpsText, backend, cross_origin_isolated: isolated, probe: probeResult, logs, ...live };
  writeFileSync(join(outDir, "result.json"), JSON.stringify(result));
  console.log(JSON.stringify({ frames: result.frames, measured_fps: result.measured_fps, fps_text: fpsText, backend,
                               model: result.model && result.model.name, prior_frames: result.prior_frames }));
} finally {
  await browser.close();
}
