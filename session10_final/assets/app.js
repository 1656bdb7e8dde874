// The page: a pipeline builder made from /api/filters, uploads to /api/jobs, progress over
// Server-Sent Events, results shown beside their originals. No framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
let catalog = [];
let files = [];

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

// A stage of the builder: the filter's parameters as inputs whose ranges the form enforces.
function addStage(name) {
  const filter = catalog.find((f) => f.name === name);
  if (!filter) return;
  const stage = element("div", { class: "stage", "data-filter": name });
  stage.append(element("strong", {}, name));
  for (const param of filter.params) {
    const label = element("label", { title: param.help }, param.name + " ");
    let input;
    if (param.type === "choice") {
      input = element("select", { name: param.name });
      for (const choice of param.choices) input.append(element("option", { value: choice }, choice));
    } else {
      input = element("input", {
        type: "number", name: param.name, min: param.min, max: param.max,
        step: param.type === "int" ? "1" : "any",
      });
    }
    if (param.default !== null) input.value = param.default;
    if (param.required) input.required = true;
    input.addEventListener("input", showSpec);
    label.append(input);
    stage.append(label);
  }
  const remove = element("button", { type: "button" }, "remove");
  remove.addEventListener("click", () => { stage.remove(); showSpec(); });
  stage.append(remove);
  $("stages").append(stage);
  showSpec();
}

// The spec's text form, as the command line takes it: blur:sigma=2|edges
function spec() {
  return [...document.querySelectorAll(".stage")].map((stage) => {
    const params = [...stage.querySelectorAll("input, select")]
      .filter((input) => input.value !== "")
      .map((input) => `${input.name}=${input.value}`);
    return params.length ? `${stage.dataset.filter}:${params.join(",")}` : stage.dataset.filter;
  }).join("|");
}

function showSpec() {
  $("spec").textContent = spec() || "(empty)";
}

function choose(list) {
  files = [...list].filter((file) => file.type.startsWith("image/"));
  $("chosen").textContent = files.length ? files.map((f) => f.name).join(", ") : "No image chosen.";
}

function say(text) {
  $("message").textContent = text;
}

// One job card: the original, then the result once the events say it succeeded.
async function submit(file, pipeline) {
  const form = new FormData();
  form.append("file", file);
  form.append("pipeline", pipeline);
  const card = element("article", { class: "job" });
  const title = element("h3", {}, `${file.name}: sending`);
  const before = element("img", { alt: `${file.name} before`, src: URL.createObjectURL(file) });
  const after = element("div", {});
  const bar = element("progress", { max: "1", value: "0" });
  after.append(bar);
  card.append(title, before, after);
  $("gallery").prepend(card);
  let body;
  try {
    const response = await fetch("/api/jobs", { method: "POST", body: form });
    body = await response.json();
    if (response.status !== 202) throw new Error(body.reason);
  } catch (error) {
    title.textContent = `${file.name}: ${error.message}`;
    title.className = "state-failed";
    return;
  }
  const show = (job) => {
    bar.value = job.progress;
    const tiles = job.tiles ? `, ${job.tiles.done} of ${job.tiles.total} tiles` : "";
    title.textContent = `${file.name}: ${job.state}${tiles}` + (job.error ? ` (${job.error})` : "");
    title.className = `state-${job.state}`;
    if (job.state === "succeeded") {
      const image = element("img", { alt: `${file.name} after`, src: job.links.result });
      const link = element("a", { href: job.links.result, download: `${job.id}-${file.name}` }, "download");
      after.replaceChildren(image, link);
    }
    return ["succeeded", "failed", "dead"].includes(job.state);
  };
  const events = new EventSource(body.links.events);
  events.addEventListener("state", (event) => {
    if (show(JSON.parse(event.data))) events.close();
  });
  // The server cannot follow the job any more, and says why.
  events.addEventListener("gone", (event) => {
    events.close();
    title.textContent = `${file.name}: ${event.data}`;
    title.className = "state-failed";
  });
  // A dropped connection reconnects by itself; one the browser gave up on (an error
  // answer) is replaced by asking for the job every second.
  events.addEventListener("error", () => {
    if (events.readyState === EventSource.CLOSED) poll(body.links.job, show, title, file.name);
  });
}

async function poll(url, show, title, name) {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    try {
      const response = await fetch(url);
      if (response.status === 404) throw new Error("the server no longer knows this job");
      if (response.ok && show(await response.json())) return;
    } catch (error) {
      title.textContent = `${name}: ${error.message}`;
      title.className = "state-failed";
      return;
    }
  }
}

async function refreshWorkers() {
  try {
    const response = await fetch("/api/workers");
    $("workers-panel").textContent = JSON.stringify(await response.json(), null, 2);
  } catch (error) {
    $("workers-panel").textContent = `cannot reach the server: ${error}`;
  }
}

async function start() {
  catalog = await (await fetch("/api/filters")).json();
  for (const filter of catalog) $("filter").append(element("option", { value: filter.name }, filter.name));
  $("add").addEventListener("click", () => addStage($("filter").value));
  $("files").addEventListener("change", (event) => choose(event.target.files));
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    choose(event.dataTransfer.files);
  });
  $("pipeline").addEventListener("submit", async (event) => {
    // The browser has already refused a form whose parameters are out of range.
    event.preventDefault();
    const pipeline = spec();
    if (!files.length) return say("Choose at least one image.");
    if (!pipeline) return say("Add at least one filter.");
    say(`Sending ${files.length} image(s).`);
    await Promise.all(files.map((file) => submit(file, pipeline)));
    say("");
  });
  refreshWorkers();
  setInterval(refreshWorkers, 2000);
}

start();
