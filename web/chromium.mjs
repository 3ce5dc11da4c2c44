// Debian's headless Chromium with a fake camera that plays a .y4m clip (shared by e2e.mjs and page_checks.mjs).
import { chromium } from "playwright-core";

export function launchWithFakeCamera(clip) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
           "--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${clip}`],
  });
}
