// 2AFC rating page: plain JS, no dependencies, works offline. The invite token arrives in the
// URL fragment (never sent to the server), is kept in localStorage so a rater can resume, and
// is sent only in the Authorization header.
"use strict";
(function () {
  const KEY = "dyadbench-study-token";
  const $ = (id) => document.getElementById(id);
  const views = ["error", "intro", "trial", "done"];
  let token = null, trial = null, shownAt = 0, ended = {left: false, right: false}, busy = false, urls = [];

  function show(name) { views.forEach((v) => { $("view-" + v).hidden = v !== name; }); }
  function fail(text) { $("error-text").textContent = text; show("error"); }

  async function api(path, options) {
    const opts = Object.assign({headers: {}}, options || {});
    opts.headers["Authorization"] = "Bearer " + token;
    if (opts.body) opts.headers["Content-Type"] = "application/json";
    for (let attempt = 0; ; attempt++) {
      let res;
      try { res = await fetch(path, opts); } catch (e) { res = null; }
      if (res && res.status === 401) { localStorage.removeItem(KEY); throw new Error("This link is not valid."); }
      if (res && res.status !== 429 && res.status < 500) return res;
      if (attempt >= 5) throw new Error("The server cannot be reached; please try again in a moment.");
      $("status").textContent = "Connection problem, retrying...";
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }

  function updateProgress(done, total) {
    $("bar").style.width = (total ? (100 * done / total) : 0) + "%";
    $("progress-text").textContent = "Pair " + Math.min(done + 1, total) + " of " + total + " (" + done + " done)";
  }

  const left = () => $("video-left"), right = () => $("video-right"), context = () => $("video-context");
  let withContext = false, sequential = false, current = "left";
  // The clock every shown clip follows: the speaker (context) when the trial has one, else the left clip.
  // It alone carries sound; the others are muted and pulled back to it when they drift.
  // Sequential trials (each clip with its own sound, e.g. matched vs mismatched speaker): the left
  // clip plays, then the right one; only the one playing is "shown" to the clock.
  const active = () => (current === "right" ? right() : left());
  const master = () => (withContext ? context() : sequential ? active() : left());
  const shown = () => (withContext ? [context(), left(), right()] : sequential ? [active()] : [left(), right()]);
  function playBoth(fromStart) {
    if (sequential && fromStart) {
      current = "left";
      [left(), right()].forEach((v) => { v.pause(); v.currentTime = 0; });
      left().play().catch(() => {});
      return;
    }
    shown().forEach((v) => { if (fromStart) v.currentTime = 0; v.play().catch(() => {}); });
  }
  function pauseBoth() { shown().forEach((v) => v.pause()); }
  function togglePlay() { if (master().paused) playBoth(master().ended); else pauseBoth(); }
  function canVote() { return ended.left && ended.right && !busy; }
  function refreshButtons() {
    $("choose-left").disabled = !canVote(); $("choose-right").disabled = !canVote();
    $("watch-hint").hidden = ended.left && ended.right;
  }

  async function loadClip(video, side) {
    const res = await api("/api/trials/" + trial.id + "/" + side);
    if (!res.ok) throw new Error("A video could not be loaded.");
    const url = URL.createObjectURL(await res.blob());
    urls.push(url);
    video.src = url;
    await new Promise((resolve, reject) => {
      video.onloadeddata = resolve;
      video.onerror = () => reject(new Error("This browser cannot play the video."));
    });
  }

  async function nextTrial() {
    urls.forEach((u) => URL.revokeObjectURL(u)); urls = [];
    const res = await api("/api/next");
    const data = await res.json();
    if (!data.trial) return finish();
    trial = data.trial;
    updateProgress(data.done, data.total);
    ended = {left: false, right: false};
    refreshButtons();
    $("status").textContent = "Loading...";
    withContext = !!trial.context;
    sequential = !withContext && !!trial.sequential;
    $("context-figure").hidden = !withContext;
    if (trial.question) $("question").textContent = trial.question;
    left().muted = withContext; right().muted = !sequential; context().muted = false;
    $("play").textContent = sequential ? "Play (Space)" : "Play both (Space)";
    $("watch-hint").textContent = sequential ? "The two videos play one after the other; watch both to answer."
                                             : "Watch both to the end to answer.";
    const loads = [loadClip(left(), "left"), loadClip(right(), "right")];
    if (withContext) loads.push(loadClip(context(), "context")); else context().removeAttribute("src");
    await Promise.all(loads);
    $("status").textContent = "";
    shownAt = performance.now();
    playBoth(true);
  }

  async function vote(choice) {
    if (!canVote() || !trial) return;
    busy = true; refreshButtons(); pauseBoth();
    const body = JSON.stringify({choice: choice, response_ms: Math.round(performance.now() - shownAt)});
    const res = await api("/api/trials/" + trial.id + "/vote", {method: "POST", body: body});
    if (!res.ok && res.status !== 409) throw new Error("Your answer could not be saved (" + res.status + ").");
    busy = false;
    await nextTrial();
  }

  async function finish() {
    const res = await api("/api/finish", {method: "POST"});
    const data = await res.json();
    $("code").textContent = data.code || "";
    show("done");
  }

  function guard(fn) { return (...args) => fn(...args).catch((e) => fail(e.message)); }

  async function start() {
    const fragment = decodeURIComponent(location.hash.slice(1));
    if (fragment) {
      localStorage.setItem(KEY, fragment);
      history.replaceState(null, "", location.pathname);  // the token leaves the address bar
    }
    token = localStorage.getItem(KEY);
    if (!token) return fail("This study is by invitation: please open the link you were given.");
    const info = await (await api("/api/study")).json();
    $("study-title").textContent = info.title;
    $("instructions").textContent = info.instructions;
    $("question").textContent = info.question;
    if (info.done >= info.total) return finish();
    $("start").textContent = info.done ? "Continue (" + info.done + " of " + info.total + " done)" : "Start";
    show("intro");
  }

  // Keep every shown clip on the master's clock (the one that carries the sound).
  function follow(e) {
    if (e.target !== master()) return;
    shown().forEach((v) => {
      if (v !== master() && !v.paused && Math.abs(v.currentTime - master().currentTime) > 0.08) v.currentTime = master().currentTime;
    });
  }
  function masterPaused(e) {
    if (e.target === master() && !master().ended) shown().forEach((v) => { if (v !== master()) v.pause(); });
  }
  [left(), context()].forEach((v) => { v.addEventListener("timeupdate", follow); v.addEventListener("pause", masterPaused); });
  left().addEventListener("ended", () => {
    ended.left = true; refreshButtons();
    if (sequential) { current = "right"; right().currentTime = 0; right().play().catch(() => {}); }  // then the second video
  });
  right().addEventListener("ended", () => { ended.right = true; refreshButtons(); });
  [left(), right(), context()].forEach((v) => v.addEventListener("click", togglePlay));
  $("start").addEventListener("click", guard(async () => { show("trial"); await nextTrial(); }));
  $("play").addEventListener("click", togglePlay);
  $("replay").addEventListener("click", () => playBoth(true));
  $("choose-left").addEventListener("click", guard(() => vote("left")));
  $("choose-right").addEventListener("click", guard(() => vote("right")));
  document.addEventListener("keydown", (e) => {
    if ($("view-trial").hidden || e.repeat) return;
    if (e.key === "1" || e.key === "ArrowLeft") { e.preventDefault(); guard(() => vote("left"))(); }
    else if (e.key === "2" || e.key === "ArrowRight") { e.preventDefault(); guard(() => vote("right"))(); }
    else if (e.key === " ") { e.preventDefault(); togglePlay(); }
    else if (e.key === "r" || e.key === "R") { playBoth(true); }
  });
  guard(start)();
})();
