//! A tiny W3C WebDriver client over HTTP: starts Debian's `chromedriver`, opens a
//! headless Chromium session, and offers the few commands the UI test needs
//! (navigate, find, type, click, read, run a script, screenshot). No mocks: the
//! real browser talks to the real server over HTTPS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C key under which an element reference is returned.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Fails (never skips) when the browser is missing, saying how to get it.
pub fn require_browser() {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(bin).exists(),
            "`{bin}` is missing: run `scripts/test`, which installs chromium and chromium-driver \
             (or `apt-get install -y chromium chromium-driver`)"
        );
    }
}

/// axe-core's script: `CUSTODY_AXE_JS`, else where `scripts/test` installs it
/// from npm (`~/.cache/custody/axe`). Missing, it is a failure that says how
/// to get it, never a skip.
pub fn axe_source() -> String {
    let path = std::env::var_os("CUSTODY_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/custody/axe/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is missing at {} ({e}): run `scripts/test`, which installs it with npm",
            path.display()
        )
    })
}

/// A running chromedriver, killed on drop.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it is ready.
    pub async fn start() -> Driver {
        require_browser();
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{CHROMEDRIVER}`: {e}"));
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await;
            if let Ok(r) = ready
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless Chromium session; downloads go to `downloads`.
    pub async fn session(&self, profile: &Path, downloads: &Path) -> Browser {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--ignore-certificate-errors", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                    "safebrowsing.enabled": false,
                },
            },
        }}});
        let v = call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/session", self.base),
            Some(caps),
        )
        .await;
        let id = v["value"]["sessionId"]
            .as_str()
            .expect("no session id")
            .to_owned();
        let browser = Browser {
            http: self.http.clone(),
            base: format!("{}/session/{id}", self.base),
            driver_addr: self.base.trim_start_matches("http://").to_owned(),
            session_path: format!("/session/{id}"),
        };
        // Headless Chromium downloads only where it is told to.
        browser
            .post(
                "/goog/cdp/execute",
                json!({"cmd": "Browser.setDownloadBehavior", "params": {
                    "behavior": "allow", "downloadPath": downloads.display().to_string(),
                }}),
            )
            .await;
        browser
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http.request(method.clone(), url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {url}: {status}: {v}");
    v
}

/// One browser session, ended (Chromium closed) when dropped, even when a
/// test fails half-way.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    driver_addr: String,
    session_path: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A blocking `DELETE /session/{id}`: Drop cannot await, and killing
        // chromedriver alone would leave Chromium running.
        use std::io::{Read, Write};
        let Ok(mut conn) = std::net::TcpStream::connect(&self.driver_addr) else {
            return;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session_path, self.driver_addr
        );
        if conn.write_all(request.as_bytes()).is_ok() {
            // The answer comes once Chromium has quit; its start is enough.
            let _ = conn.read(&mut [0u8; 512]);
        }
    }
}

/// A reference to an element of the current page.
pub struct Element(String);

impl Browser {
    async fn post(&self, path: &str, body: Value) -> Value {
        call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}{path}", self.base),
            Some(body),
        )
        .await["value"]
            .take()
    }

    async fn get(&self, path: &str) -> Value {
        call(
            &self.http,
            reqwest::Method::GET,
            &format!("{}{path}", self.base),
            None,
        )
        .await["value"]
            .take()
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn source(&self) -> String {
        self.get("/source")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn find(&self, css: &str) -> Element {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        match v[ELEMENT_KEY].as_str() {
            Some(id) => Element(id.to_owned()),
            None => panic!(
                "no element `{css}` ({v}) on {}:\n{}",
                self.url().await,
                self.source().await
            ),
        }
    }

    pub async fn type_into(&self, el: &Element, text: &str) {
        self.post(&format!("/element/{}/value", el.0), json!({"text": text}))
            .await;
    }

    pub async fn click(&self, el: &Element) {
        self.post(&format!("/element/{}/click", el.0), json!({}))
            .await;
    }

    pub async fn text(&self, el: &Element) -> String {
        self.get(&format!("/element/{}/text", el.0))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The current `value` of a form field.
    pub async fn value(&self, el: &Element) -> String {
        let v = self.get(&format!("/element/{}/property/value", el.0)).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Presses and releases each key of `keys` in turn on whatever has the
    /// focus, as a keyboard does (W3C actions: `\u{E004}` is Tab, `\u{E007}`
    /// Enter, `\u{E00D}` Space, `\u{E014}` the right arrow).
    pub async fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|k| {
                let k = k.to_string();
                [
                    json!({"type": "keyDown", "value": k}),
                    json!({"type": "keyUp", "value": k}),
                ]
            })
            .collect();
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// Runs `script` in the page and returns its value.
    pub async fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    /// Resizes the window (the viewport follows).
    pub async fn set_window(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.get("/screenshot").await;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .unwrap()
    }

    /// The WCAG 2.1 A and AA violations axe-core finds in the page as it is
    /// now, one line each (rule, help, the elements at fault).
    pub async fn axe_violations(&self) -> Vec<String> {
        let source = axe_source();
        self.script(&format!("{source}\n;return typeof axe;")).await;
        let run = "const done = arguments[arguments.length - 1];\
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
            .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' at ' +\
                v.nodes.map(n => n.target.join(' ')).join(', '))))\
            .catch(e => done(['axe-core failed: ' + e]));";
        let v = self
            .post("/execute/async", json!({"script": run, "args": []}))
            .await;
        v.as_array()
            .unwrap_or_else(|| panic!("axe-core answered {v}"))
            .iter()
            .map(|s| s.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Fails when axe-core finds a WCAG 2.1 AA violation in the page.
    pub async fn assert_accessible(&self, what: &str) {
        let found = self.axe_violations().await;
        assert!(
            found.is_empty(),
            "{what} ({}) breaks WCAG 2.1 AA:\n{}",
            self.url().await,
            found.join("\n")
        );
    }

    /// Saves a screenshot of the page as `<name>.png` into the directory
    /// `CUSTODY_SCREENSHOTS` names (`scripts/screenshots` sets it to
    /// `docs/screenshots`); without it, nothing is written.
    pub async fn save_screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("CUSTODY_SCREENSHOTS") else {
            return;
        };
        let png = self.screenshot().await;
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }

    /// Polls `probe` (a script returning a truthy value when done) until it holds.
    pub async fn wait_until(&self, what: &str, probe: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.script(probe).await;
            if !(v.is_null() || v == false || v == "") {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; page at {}:\n{}",
                    self.url().await,
                    self.source().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Waits until `dir` holds a finished download named `name`, and returns its path.
pub async fn wait_for_download(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let partial = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().ends_with(".crdownload"))
            })
            .unwrap_or(false);
        if path.exists() && !partial {
            return path;
        }
        let listing: Vec<String> = std::fs::read_dir(dir)
            .map(|e| {
                e.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "no download `{name}` in {}: {listing:?}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
