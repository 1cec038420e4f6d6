// What the pages share: elements built with their data as text (never as markup), the
// secret key from the address fragment (which browsers never send to a server or put in a
// Referer), and the alert line.
"use strict";

const $ = (sel) => document.getElementById(sel);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function keyFromFragment() {
  return new URLSearchParams(location.hash.slice(1)).get("key");
}

function problem(text) {
  const p = $("problem");
  p.textContent = text;
  p.style.display = text ? "block" : "none";
}

