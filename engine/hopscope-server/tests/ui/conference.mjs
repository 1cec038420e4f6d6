// Opens the conference page in Debian's Chromium (headless, driven by playwright-core) and
// checks what a support agent sees: the conference, the narrative, the findings, the
// participants, a live call turning into an ended one, and a wrong key explained.
// Then carol's call history, and from it back to the call.
// Usage: node conference.mjs PAGE_URL SECRET_KEY EXPECTED_PARTICIPANTS USER
// Prints one JSON line with what it saw; exits 1 with the reason when a check fails.
import { chromium } from "playwright-core";

const [page_url, key, expected, user] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.HOPSCOPE_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];
const fail = async (why) => { console.error(why); await browser.close(); process.exit(1); };
try {
  const page = await browser.newPage();
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));

  await page.goto(page_url + "#key=" + encodeURIComponent(key));
  await page.locator("#content").waitFor({ state: "visible", timeout: 15000 });
  const first_state = await page.locator("#state").textContent();
  // The call is still running when the page opens: it must turn to ended by itself
  // (server-sent events), without a reload.
  await page.locator("#state", { hasText: "ended" }).waitFor({ timeout: 30000 });
  await page.waitForFunction(() => document.querySelectorAll("#findings tr").length > 0, null, { timeout: 15000 });
  const seen = {
    first_state,
    key_form_hidden: !(await page.locator("#ask-key").isVisible()),
    title: await page.locator("#title").textContent(),
    state: await page.locator("#state").textContent(),
    summary: await page.locator("#narrative .summary").textContent(),
    paragraphs: await page.locator("#narrative .card p").allTextContents(),
    findings: await page.locator("#findings tr").count(),
    finding_rules: await page.locator("#findings tr td:nth-child(2)").allTextContents(),
    participants: await page.locator("#participants tr td:first-child").allTextContents(),
    facts: await page.locator("#facts").innerText(),
    finding_times: await page.locator("#findings tr td:nth-child(4)").allTextContents(),
    browsers: await page.locator("#participants tr td:nth-child(2)").allTextContents(),
  };
  if (seen.participants.length !== Number(expected)) await fail("participants: " + JSON.stringify(seen));

  // A wrong key: a clear message and the key form, no content.
  const other = await browser.newPage();
  await other.goto(page_url + "#key=hs_secret_wrong_0000000000000000");
  await other.locator("#problem").waitFor({ state: "visible", timeout: 15000 });
  seen.wrong_key = await other.locator("#problem").textContent();
  seen.wrong_key_form = await other.locator("#ask-key").isVisible();
  // The user's call history lists the call; its link opens the conference page.
  const history = await browser.newPage();
  history.on("pageerror", (e) => problems.push(String(e)));
  await history.goto(new URL(page_url).origin + "/ui/users/" + encodeURIComponent(user) + "#key=" + encodeURIComponent(key));
  await history.locator("#calls tr").first().waitFor({ timeout: 15000 });
  seen.history_title = await history.locator("#title").textContent();
  seen.history = await history.locator("#calls tr").allInnerTexts();
  await history.locator("#calls tr a").first().click();
  await history.locator("#content").waitFor({ state: "visible", timeout: 15000 });
  seen.history_opens = await history.locator("#title").textContent();
  seen.problems = problems;
  console.log(JSON.stringify(seen));
} catch (e) {
  await fail(String(e) + " (browser console: " + problems.join(" | ") + ")");
}
await browser.close();
