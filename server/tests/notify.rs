//! Email of waiting calls, against a local SMTP sink the test starts: who gets it, that calls
//! close together come in one message, and the links in it: they open the call after sign-in,
//! once, for the person they were sent to, until they expire or the call is decided. And the
//! team's channels, against a local receiver: what they get, and which addresses they may have.

use crate::support;

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use support::{
    ADMIN_PASSWORD, TestApp, asking_session, audit_entries_at_least, browser, files_holding, spawn_app, start,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::Mutex,
};

/// A message the sink took: its recipients and its data (headers and body, as sent).
#[derive(Debug, Clone)]
struct Mail {
    to: Vec<String>,
    data: String,
}

impl Mail {
    /// The body with quoted-printable undone (soft line breaks, `=XX`).
    fn text(&self) -> String {
        let joined = self.data.replace("=\r\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
            {
                out.push(byte);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The link in the paragraph about the call whose input has `words`.
    fn link_for(&self, words: &str) -> String {
        let text = self.text().replace("\r\n", "\n");
        let paragraph =
            text.split("\n\n").find(|p| p.contains(words)).unwrap_or_else(|| panic!("no {words:?} in {text}"));
        links_in(paragraph).remove(0)
    }

    /// The links to calls in it.
    fn links(&self) -> Vec<String> {
        links_in(&self.text())
    }
}

/// The links to calls in `text`, already decoded (decoding twice would read the `=de` of a link's
/// `workspace=default` as a byte).
fn links_in(text: &str) -> Vec<String> {
    text.split_whitespace().filter(|w| w.contains("/sessions/") && w.contains("&t=")).map(str::to_owned).collect()
}

/// An SMTP server that accepts every message and keeps it: enough of RFC 5321 for a client that
/// sends EHLO, MAIL, RCPT, DATA and QUIT.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let kept = mails.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ready\r\n").await.unwrap();
                let mut to = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "RCPT" => {
                            to.push(line.trim_start_matches(|c| c != '<').trim_matches(['<', '>']).to_owned());
                            b"250 ok\r\n"
                        }
                        "DATA" => {
                            write.write_all(b"354 go on\r\n").await.unwrap();
                            let mut data = String::new();
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                                data.push_str(&line);
                                data.push_str("\r\n");
                            }
                            kept.lock().await.push(Mail { to: std::mem::take(&mut to), data });
                            b"250 kept\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}

/// Waits until `kept` holds `n` items (messages the sink took, posts a receiver got); answers
/// them. `what` names them in the failure.
async fn at_least<T: Clone>(kept: &Mutex<Vec<T>>, n: usize, what: &str) -> Vec<T> {
    for _ in 0..300 {
        let got = kept.lock().await.clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("got {} {what}, not {n}", kept.lock().await.len());
}

async fn choose_email(app: &TestApp, client: &reqwest::Client, address: &str) -> (u16, Value) {
    let response = client
        .post(format!("{}/api/notify/email/set", app.address))
        .form(&[("address", address)])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The page a link opens, for `client`: its `link-check` notice's state and text.
async fn open(client: &reqwest::Client, link: &str) -> (String, String) {
    let page = client.get(link).send().await.unwrap().text().await.unwrap();
    let Some(at) = page.find(r#"data-testid="link-check""#) else {
        panic!("no link notice on the page: {}", &page[..page.len().min(4000)]);
    };
    let tag = &page[at..];
    let state = tag.split(r#"data-state=""#).nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_owned();
    let text = tag.split('>').nth(1).and_then(|s| s.split("</p").next()).unwrap_or_default().to_owned();
    (state, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_calls_are_emailed_in_one_message_with_links_that_decide_once_for_their_person() {
    let (port, sink) = smtp_sink().await;
    let smtp = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app(&[("SWITCHBOARD_SMTP_URL", &smtp), ("SWITCHBOARD_NOTIFY_WINDOW_SECS", "1")]).await;
    let ann = app.client_as("ann", &["approver"]).await;
    let carol = app.client_as("carol", &["approver"]).await;
    let bob = app.client_as("bob", &["approver"]).await;
    let vic = app.client_as("vic", &["viewer"]).await;

    // Each chooses for themself; a bad address is refused and changes nothing.
    let (status, refused) = choose_email(&app, &ann, "ann at example").await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("name@example.com"), "{refused}");
    let (status, choice) = choose_email(&app, &ann, "ann@example.com").await;
    assert_eq!((status, &choice), (200, &json!({ "available": true, "address": "ann@example.com" })));
    assert_eq!(choose_email(&app, &carol, "carol@example.com").await.0, 200);
    // A viewer may not decide, so is not emailed calls.
    assert_eq!(choose_email(&app, &vic, "vic@example.com").await.0, 403);
    let (_, read) = support_read(&app, &ann, "notify/email").await;
    assert_eq!(read["address"], "ann@example.com");

    // Two calls at once: one message each for ann and carol, none for bob, who did not ask.
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo first" } }, { "tool": "bash", "input": { "command": "echo second" } }, { "text": "Done." }]]);
    let session = asking_session(&app, "notify test", turns).await;
    let sent = at_least(&sink, 2, "messages").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.lock().await.len(), 2, "one message per person for calls that came together");
    let to_ann = sent.iter().find(|m| m.to == ["ann@example.com"]).expect("ann's message");
    let to_carol = sent.iter().find(|m| m.to == ["carol@example.com"]).expect("carol's message");
    assert!(to_ann.data.contains("Subject: Waiting for you: 2 tool calls"), "{}", to_ann.data);
    let text = to_ann.text();
    assert!(text.contains("echo first") && text.contains("echo second"), "{text}");
    assert_eq!(to_ann.links().len(), 2, "{text}");
    let (link, other) = (&to_ann.link_for("echo first"), &to_ann.link_for("echo second"));
    assert!(link.starts_with(&format!("{}/sessions/{session}?event=", app.address)), "{link}");
    assert!(
        link.ends_with("&workspace=default"),
        "the call is the default workspace's, whichever the browser is in: {link}"
    );

    // A mail scanner's GET, signed out: the page asks for sign-in and comes back to the link after
    // it, and nothing is spent.
    let signed_out = browser();
    let asked = signed_out.get(link).send().await.unwrap();
    let path = link.strip_prefix(&app.address).unwrap();
    assert_eq!(asked.status().as_u16(), 303);
    assert_eq!(asked.headers()["location"], format!("/login?next={}", domain::format::query_value(path)).as_str());
    let back = signed_out
        .post(format!("{}/auth/login", app.address))
        .form(&[("username", "ann"), ("password", ADMIN_PASSWORD), ("next", path)])
        .send()
        .await
        .unwrap();
    assert_eq!(back.headers()["location"], path);
    let (state, text) = open(&signed_out, link).await;
    assert_eq!(state, "open", "{text}");
    assert!(text.contains("decide bash: $ echo first"), "{text}");
    // A preview, or a second tab, signed in: it still opens; only a decision spends it.
    let (state, text) = open(&ann, link).await;
    assert_eq!(state, "open", "a signed-in GET spends nothing: {text}");
    // Only for ann.
    let (state, text) = open(&bob, other).await;
    assert_eq!(state, "refused");
    assert!(text.contains("was sent to ann, not to you"), "{text}");
    // Opening decided nothing: both calls still wait.
    let waiting = || async {
        let (_, inbox) = app.read("inbox/list", &[]).await;
        inbox["calls"].as_array().unwrap().iter().filter(|c| c["session_id"] == session.as_str()).count()
    };
    assert_eq!(waiting().await, 2);

    // The card on the link's page posts the token with its decision (by its plain form, as
    // before the page is hydrated, or with JavaScript off) and comes back to the call without it.
    let first = link.split("event=").nth(1).unwrap().split('&').next().unwrap();
    let token = link.split("&t=").nth(1).unwrap().split('&').next().unwrap();
    let page = ann.get(link).send().await.unwrap().text().await.unwrap();
    let back = format!("/sessions/{session}?event={first}&workspace=default");
    assert!(page.contains(&format!(r#"name="event_id" value="{first}""#)), "the link's page has the call's card");
    assert!(page.contains(&format!(r#"name="back" value="{}""#, back.replace('&', "&amp;"))), "{back}");
    assert!(page.contains(&format!(r#"name="t" value="{token}""#)), "the card carries the link's token");
    let decide = |client: &reqwest::Client, verdict: &'static str| {
        client
            .post(format!("{}/api/sessions/decide_form", app.address))
            .header("accept", "text/html")
            .header("origin", app.address.as_str())
            .form(&[
                ("session_id", session.as_str()),
                ("event_id", first),
                ("verdict", verdict),
                ("back", &back),
                ("t", token),
            ])
            .send()
    };
    // Another person's decision through ann's link is refused, and sends nothing.
    let refused = decide(&bob, "deny").await.unwrap();
    assert_eq!(refused.headers()["location"], format!("{back}&decision=link_not_yours&decided={first}").as_str());
    assert_eq!(waiting().await, 2, "nothing was decided");
    let decided = decide(&ann, "allow").await.unwrap();
    assert_eq!(decided.status().as_u16(), 302);
    assert_eq!(decided.headers()["location"], format!("{back}&decision=allowed&decided={first}").as_str());
    // A second decision through it is refused: the link decided once.
    let again = decide(&ann, "deny").await.unwrap();
    assert_eq!(again.headers()["location"], format!("{back}&decision=link_used&decided={first}").as_str());
    let (_, events) = app.read("sessions/events", &[("id", session.as_str())]).await;
    let confirmations: Vec<&Value> =
        events["data"].as_array().unwrap().iter().filter(|e| e["type"] == "user.tool_confirmation").collect();
    assert_eq!(confirmations.len(), 1, "{confirmations:?}");
    assert_eq!(confirmations[0]["result"], "allow");
    // Opened again, the link says the call was decided.
    let (state, text) = open(&ann, link).await;
    assert_eq!(state, "refused");
    assert!(text.contains("already allowed by ann"), "{text}");
    // Carol's link, never opened, says so and who.
    let carols_first = to_carol.link_for("echo first");
    assert!(carols_first.contains(first));
    let (state, text) = open(&carol, &carols_first).await;
    assert_eq!(state, "refused");
    assert!(text.contains("already allowed by ann at"), "{text}");
    // Her link to the second call still opens it.
    let carols_second = to_carol.link_for("echo second");
    assert_eq!(open(&carol, &carols_second).await.0, "open");
    // A link altered by hand is not Switchboard's.
    let forged = carols_second.replace("&t=", "&t=x");
    assert!(open(&carol, &forged).await.1.contains("not one Switchboard made"));

    // A hydrated card sends the token with its decision as `link`: the same rules.
    let second = carols_second.split("event=").nth(1).unwrap().split('&').next().unwrap();
    let carols_token = carols_second.split("&t=").nth(1).unwrap().split('&').next().unwrap();
    let through = |client: &reqwest::Client, allow: bool| {
        let body = json!({
            "session_id": session,
            "verdicts": [{ "event_id": second, "allow": allow }],
            "link": carols_token,
        });
        client.post(format!("{}/api/sessions/decide", app.address)).json(&body).send()
    };
    let refused = through(&bob, true).await.unwrap();
    assert_eq!(refused.status().as_u16(), 409);
    let said: Value = refused.json().await.unwrap();
    assert!(said["message"].as_str().unwrap().contains("was not sent to you"), "{said}");
    let decided = through(&carol, true).await.unwrap();
    assert_eq!(decided.status().as_u16(), 200);
    let decided: Value = decided.json().await.unwrap();
    assert_eq!(decided["sent"], json!([second]), "{decided}");
    let again: Value = through(&carol, false).await.unwrap().json().await.unwrap();
    assert!(again["message"].as_str().unwrap().contains("already used to decide"), "{again}");
    assert_eq!(waiting().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_is_refused_once_it_expired() {
    let (port, sink) = smtp_sink().await;
    let smtp = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app(&[
        ("SWITCHBOARD_SMTP_URL", &smtp),
        ("SWITCHBOARD_NOTIFY_WINDOW_SECS", "0.2"),
        ("SWITCHBOARD_LINK_TTL_SECS", "1"),
    ])
    .await;
    assert_eq!(choose_email(&app, &app.client, "admin@example.com").await.0, 200);
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo late" } }, { "text": "Done." }]]);
    asking_session(&app, "expiry test", turns).await;
    let link = at_least(&sink, 1, "messages").await[0].links().remove(0);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (state, text) = open(&app.client, &link).await;
    assert_eq!(state, "refused");
    assert!(text.contains("This link expired at"), "{text}");
}

#[tokio::test]
async fn without_a_mail_server_nobody_can_choose_email() {
    let app = spawn_app(&[]).await;
    let (_, choice) = support_read(&app, &app.client, "notify/email").await;
    assert_eq!(choice, json!({ "available": false, "address": null }));
    let (status, refused) = choose_email(&app, &app.client, "admin@example.com").await;
    assert_eq!(status, 400);
    assert!(refused["message"].as_str().unwrap().contains("SWITCHBOARD_SMTP_URL"), "{refused}");
}

async fn support_read(app: &TestApp, client: &reqwest::Client, endpoint: &str) -> (u16, Value) {
    app.read_as(client, endpoint, &[]).await
}

/// What a channel's receiver got: the path, the headers and the body of each POST.
type Received = Arc<Mutex<Vec<(String, reqwest::header::HeaderMap, String)>>>;

/// A receiver for channels: answers 200 to every POST and keeps it.
async fn receiver() -> (String, Received) {
    use axum::{extract::State, http::HeaderMap, routing::post};
    let received: Received = Arc::default();
    let router = axum::Router::new()
        .route(
            "/{path}",
            post(
                |State(kept): State<Received>,
                 axum::extract::Path(path): axum::extract::Path<String>,
                 headers: HeaderMap,
                 body: String| async move {
                    let mut copy = reqwest::header::HeaderMap::new();
                    for (name, value) in &headers {
                        copy.insert(
                            reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                            reqwest::header::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                        );
                    }
                    kept.lock().await.push((path, copy, body));
                },
            ),
        )
        .with_state(received.clone());
    (support::serve(router).await, received)
}

/// Adds a channel as an admin does on the Settings page; answers the status and the body.
async fn add_channel(app: &TestApp, kind: &str, name: &str, url: String) -> (u16, Value) {
    let form = [("channel[kind]", kind), ("channel[name]", name), ("channel[url]", url.as_str())];
    app.call("notify/channels/create", &form).await
}

/// A channel's URL may not reach this machine, its network or a cloud metadata service: saving
/// one is refused, saying why and what to do. `SWITCHBOARD_ALLOW_PRIVATE_URLS` opens the
/// private addresses it names, never a metadata service.
#[tokio::test]
async fn a_channel_to_this_machine_or_a_metadata_service_is_refused_in_words() {
    let app = spawn_app(&[]).await;
    let (_, upstream) = app.read("upstream", &[]).await;
    let engine = upstream["base_url"].as_str().unwrap().to_owned();
    assert!(engine.starts_with("http://127.0.0.1:"), "{upstream}");
    let (status, refused) = add_channel(&app, "webhook", "engine", format!("{engine}/v1/agents")).await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("url")), "{refused}");
    let words = refused["message"].as_str().unwrap();
    assert!(words.contains("127.0.0.1 is loopback") && words.contains("public addresses"), "{words}");
    assert!(words.contains("SWITCHBOARD_ALLOW_PRIVATE_URLS"), "what to do: {words}");
    let metadata = "http://169.254.169.254/latest/meta-data/".to_owned();
    let (status, refused) = add_channel(&app, "slack", "metadata", metadata.clone()).await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("url")), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("cloud metadata service"), "{refused}");
    let (_, list) = app.read("notify/channels", &[]).await;
    assert_eq!(list, json!([]), "nothing saved");
    app.stop().await;

    let app = spawn_app(&[("SWITCHBOARD_ALLOW_PRIVATE_URLS", "127.0.0.1")]).await;
    let (_, upstream) = app.read("upstream", &[]).await;
    let engine = upstream["base_url"].as_str().unwrap().to_owned();
    let (status, saved) = add_channel(&app, "webhook", "engine", format!("{engine}/hook")).await;
    assert_eq!(status, 200, "the allowed address saves: {saved}");
    let (status, refused) = add_channel(&app, "slack", "metadata", metadata).await;
    assert_eq!(status, 400, "{refused}");
    let words = refused["message"].as_str().unwrap();
    assert!(words.contains("cloud metadata service") && words.contains("whatever"), "{words}");
    let (status, refused) = add_channel(&app, "slack", "ipv6", "http://[::1]:9/hook".into()).await;
    assert_eq!(status, 400, "only the address the list names: {refused}");
}

/// The address is judged again at every send, by what the name resolves to then: a channel
/// saved while the list allowed it gets nothing once it no longer does, while the batch goes
/// out by email as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_whose_address_is_no_longer_allowed_gets_nothing() {
    let (base, kept) = receiver().await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let app = spawn_app(&[("SWITCHBOARD_ALLOW_PRIVATE_URLS", "127.0.0.1, ::1")]).await;
    let (status, saved) = add_channel(&app, "webhook", "pager", format!("http://localhost:{port}/hook")).await;
    assert_eq!(status, 200, "{saved}");
    let data_dir = app.stop().await;

    let (smtp_port, sink) = smtp_sink().await;
    let smtp = format!("smtp://127.0.0.1:{smtp_port}");
    let app =
        start(data_dir, &[("SWITCHBOARD_SMTP_URL", &smtp), ("SWITCHBOARD_NOTIFY_WINDOW_SECS", "0.2")], true).await;
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    assert_eq!(choose_email(&app, &app.client, "admin@example.com").await.0, 200);
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo refused" } }, { "text": "Done." }]]);
    asking_session(&app, "refused channel test", turns).await;
    // Channels are sent to before email: once the email is here, the channel had its turn.
    at_least(&sink, 1, "messages").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(kept.lock().await.len(), 0, "localhost resolves to loopback, no longer allowed");
}

/// An admin adds a Slack channel and a signed webhook: each batch goes to both, the webhook's
/// JSON verifies with the secret shown once, the URLs are never shown back, and the next batch
/// says which calls of the last were decided elsewhere. A removed channel gets nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_go_to_the_teams_slack_and_signed_webhook_channels() {
    let (base, kept) = receiver().await;
    // The receiver is on this machine: a private address, which the list allows.
    // With a secret key: the channels' URLs and secrets are sealed at rest, and opened to send.
    let app = spawn_app(&[
        ("SWITCHBOARD_NOTIFY_WINDOW_SECS", "0.5"),
        ("SWITCHBOARD_ALLOW_PRIVATE_URLS", "127.0.0.1"),
        ("SWITCHBOARD_SECRET_KEY", SECRET_KEY),
    ])
    .await;
    let add = |kind: &'static str, name: &'static str, url: String| add_channel(&app, kind, name, url);
    let (status, refused) = add("slack", "#on-call", "hooks.example/x".into()).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("https://"), "{refused}");
    let (status, slack) = add("slack", "#on-call", format!("{base}/slack-secret-path")).await;
    assert_eq!(status, 200, "{slack}");
    assert_eq!(slack["secret"], Value::Null);
    let (status, hook) = add("webhook", "pager", format!("{base}/hook")).await;
    assert_eq!(status, 200, "{hook}");
    let secret = hook["secret"].as_str().expect("a webhook channel's secret, shown once").to_owned();
    let (_, list) = app.read("notify/channels", &[]).await;
    assert!(!list.to_string().contains("slack-secret-path") && !list.to_string().contains(&secret), "{list}");
    assert_eq!(list[0]["target"], base.as_str());
    // Only admins manage channels.
    let approver = app.client_as("ann", &["approver"]).await;
    assert_eq!(app.read_as(&approver, "notify/channels", &[]).await.0, 403);

    let turns = json!([
        [{ "tool": "bash", "input": { "command": "echo one" } }, { "text": "First done." }],
        [{ "tool": "bash", "input": { "command": "echo two" } }, { "text": "Second done." }],
    ]);
    let session = asking_session(&app, "channel test", turns).await;
    let got = at_least(&kept, 2, "posts").await;
    let slack_post = &got.iter().find(|(path, ..)| path == "slack-secret-path").unwrap().2;
    let text: Value = serde_json::from_str(slack_post).unwrap();
    let text = text["text"].as_str().unwrap();
    assert!(text.contains(&format!("*Waiting for you: bash in {session}*")), "{text}");
    assert!(text.contains("`$ echo one` (session") && text.contains("agent channel test"), "{text}");
    assert!(text.contains(&format!("<{}/sessions/{session}?event=", app.address)), "{text}");
    let (_, headers, body) = got.iter().find(|(path, ..)| path == "hook").unwrap();
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    verifier.verify(body.as_bytes(), headers).expect("the channel's JSON is signed with its secret");
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["type"], "calls.waiting");
    assert_eq!(payload["calls"][0]["summary"], "$ echo one");
    let first = payload["calls"][0]["event_id"].as_str().unwrap().to_owned();
    assert_eq!(payload["decided_elsewhere"], json!([]));

    // Allowed here; then the agent asks again: that batch says the first was decided.
    let verdict =
        json!({ "session_id": session, "verdicts": [{ "event_id": first, "allow": true, "deny_message": null }] });
    let decided = app.client.post(format!("{}/api/sessions/decide", app.address)).json(&verdict).send().await.unwrap();
    assert_eq!(decided.status().as_u16(), 200);
    // Removing the Slack channel: the second batch goes to the webhook only.
    let slack_id = slack["channel"]["id"].to_string();
    assert_eq!(app.call("notify/channels/delete", &[("id", &slack_id)]).await.0, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let steer = json!({ "session_id": session, "text": "again", "file_ids": [], "interrupt": false });
    let steered = app.client.post(format!("{}/api/sessions/steer", app.address)).json(&steer).send().await.unwrap();
    assert_eq!(steered.status().as_u16(), 200);
    let got = at_least(&kept, 3, "posts").await;
    let (path, _, body) = &got[2];
    assert_eq!(path, "hook");
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["calls"][0]["summary"], "$ echo two");
    assert_eq!(payload["decided_elsewhere"][0]["event_id"], first.as_str());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(kept.lock().await.len(), 3, "nothing more, and nothing to the removed channel");
}

/// A policy's escalation tells its first group with the batch and the next group once the call
/// has waited; quiet hours hold the message. Both are audit entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_tells_the_next_group_after_the_wait_and_quiet_hours_hold_the_message() {
    let (port, sink) = smtp_sink().await;
    let smtp = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app(&[("SWITCHBOARD_SMTP_URL", &smtp), ("SWITCHBOARD_NOTIFY_WINDOW_SECS", "0.2")]).await;
    let ann = app.client_as("ann", &["approver"]).await;
    let bob = app.client_as("bob", &["approver"]).await;
    assert_eq!(choose_email(&app, &ann, "ann@example.com").await.0, 200);
    assert_eq!(choose_email(&app, &bob, "bob@example.com").await.0, 200);
    let policy = [
        ("form[agent_id]", "*"),
        ("form[required_approvals]", "1"),
        ("form[first]", "ann"),
        ("form[then]", "bob"),
        ("form[then_after_secs]", "2"),
    ];
    let (status, saved) = app.call("policies/save", &policy).await;
    assert_eq!(status, 200, "{saved}");

    let turns = json!([[{ "tool": "bash", "input": { "command": "echo escalate" } }, { "text": "Done." }]]);
    let session = asking_session(&app, "escalation test", turns).await;
    let first = at_least(&sink, 1, "messages").await;
    assert_eq!(first[0].to, ["ann@example.com"], "the first group only");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(sink.lock().await.len(), 1, "bob is not told before the call has waited 2 s");
    let both = at_least(&sink, 2, "messages").await;
    assert_eq!(both[1].to, ["bob@example.com"]);
    assert!(both[1].data.contains("Subject: Still waiting: bash in"), "{}", both[1].data);
    let text = both[1].text();
    assert!(text.contains("Nobody has decided this call in 2 seconds") && text.contains("echo escalate"), "{text}");
    assert_eq!(both[1].links().len(), 1, "bob's own link: {text}");
    let escalated = audit_entries_at_least(&app, "policies/escalated", 1).await;
    assert_eq!(escalated.len(), 1, "{escalated:?}");
    assert_eq!(escalated[0]["detail"]["told"], json!(["bob"]));
    assert!(escalated[0]["targets"].as_str().unwrap().contains(&session), "{escalated:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.lock().await.len(), 2, "each group is told once");

    // Quiet hours around now (UTC): the next call is held, and the hold is an audit entry.
    let minute = (time::OffsetDateTime::now_utc().unix_timestamp() / 60).rem_euclid(24 * 60);
    let hm = |m: i64| format!("{:02}:{:02}", m.rem_euclid(1440) / 60, m.rem_euclid(1440) % 60);
    let (start, end) = (hm(minute - 60), hm(minute + 120));
    let quiet = [
        ("form[agent_id]", "*"),
        ("form[required_approvals]", "1"),
        ("form[quiet_start]", start.as_str()),
        ("form[quiet_end]", end.as_str()),
        ("form[utc_offset_minutes]", "0"),
    ];
    let (status, saved) = app.call("policies/save", &quiet).await;
    assert_eq!(status, 200, "{saved}");
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo hush" } }, { "text": "Done." }]]);
    let quiet_session = asking_session(&app, "quiet test", turns).await;
    let held = audit_entries_at_least(&app, "policies/quiet_hours", 1).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(held[0]["targets"].as_str().unwrap().contains(&quiet_session));
    assert_eq!(held[0]["detail"]["quiet_hours"], format!("{start} to {end} (UTC+00:00)"));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(sink.lock().await.len(), 2, "nobody is told in quiet hours");
}

const SECRET_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

/// Without `SWITCHBOARD_SECRET_KEY` a channel's URL and signing secret sit in the database as
/// given (the README says so); started with the key, Switchboard seals them, and no file of the
/// data directory holds them any more, nor those of a channel added since.
#[tokio::test]
async fn with_the_secret_key_no_channel_url_or_secret_is_left_in_any_file() {
    // About the data directory's files (and running without the key): SQLite's, in either run.
    let data = Arc::new(support::TempDir::new());
    let app = start(data.clone(), &[("SWITCHBOARD_DATABASE_URL", "")], true).await;
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    let (status, before) =
        add_channel(&app, "webhook", "before", "https://203.0.113.9/hook-BEFORE-url-path".into()).await;
    assert_eq!(status, 200, "{before}");
    let before_secret = before["secret"].as_str().unwrap().to_owned();
    let data = app.stop().await;
    assert!(!files_holding(&data.0, b"hook-BEFORE-url-path").is_empty(), "without a key the URL is stored as given");

    let app =
        start(data.clone(), &[("SWITCHBOARD_SECRET_KEY", SECRET_KEY), ("SWITCHBOARD_DATABASE_URL", "")], true).await;
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    let (status, after) = add_channel(&app, "webhook", "after", "https://203.0.113.9/hook-AFTER-url-path".into()).await;
    assert_eq!(status, 200, "{after}");
    let after_secret = after["secret"].as_str().unwrap().to_owned();
    let (_, list) = app.read("notify/channels", &[]).await;
    let targets: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["https://203.0.113.9", "https://203.0.113.9"], "sealed, they still open: {list}");
    let data = app.stop().await;
    for needle in ["hook-BEFORE-url-path", "hook-AFTER-url-path", before_secret.as_str(), after_secret.as_str()] {
        assert_eq!(files_holding(&data.0, needle.as_bytes()), Vec::<String>::new(), "{needle} found at rest");
    }

    // Without the key again: the sealed channels are named as such, and nothing is lost.
    let app = start(data.clone(), &[("SWITCHBOARD_DATABASE_URL", "")], true).await;
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    let (_, list) = app.read("notify/channels", &[]).await;
    assert!(list[0]["target"].as_str().unwrap().contains("SWITCHBOARD_SECRET_KEY"), "{list}");
    app.stop().await;
}

/// A connected workspace is told of as the default one is: its waiting call is emailed to the
/// people who may decide there (and nobody else), posted to its Slack app, and every link names
/// the workspace, so it opens there whichever workspace the browser was in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_workspaces_call_reaches_email_and_slack_with_links_that_open_in_it() {
    const STAGING_KEY: &str = "staging-engine-key";
    let engine = support::spawn_engine(STAGING_KEY).await;
    let (port, sink) = smtp_sink().await;
    let smtp = format!("smtp://127.0.0.1:{port}");
    let (slack, slack_url) = support::slack_standin::StandIn::start().await;
    let app = spawn_app(&[
        ("SWITCHBOARD_SECRET_KEY", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="),
        ("SWITCHBOARD_SMTP_URL", &smtp),
        ("SWITCHBOARD_NOTIFY_WINDOW_SECS", "0.2"),
        ("SWITCHBOARD_SLACK_API_URL", &slack_url),
    ])
    .await;
    let connect = [
        ("form[id]", "staging"),
        ("form[name]", "Staging"),
        ("form[base_url]", engine.base_url.as_str()),
        ("form[key]", STAGING_KEY),
    ];
    let (status, row) = app.call("workspaces/connect", &connect).await;
    assert_eq!(status, 200, "{row}");
    // Bob approves in staging only; Carol in the default workspace only. Both chose email.
    let bob = app.client_as("bob", &["viewer"]).await;
    let carol = app.client_as("carol", &["approver"]).await;
    let grant = [("form[workspace_id]", "staging"), ("form[username]", "bob"), ("form[roles]", "approver")];
    assert_eq!(app.call("workspaces/grant", &grant).await.0, 200);
    let to_staging = |client: &reqwest::Client| {
        let request = client.post(format!("{}/auth/workspace", app.address)).form(&[("workspace", "staging")]);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(to_staging(&bob).await, 303);
    assert_eq!(choose_email(&app, &bob, "bob@example.com").await.0, 200);
    assert_eq!(choose_email(&app, &carol, "carol@example.com").await.0, 200);

    // A call waits in the default workspace too, so that the assertions below could see it leak.
    asking_session(&app, "Default agent", json!([[{ "tool": "bash", "input": { "command": "echo home" } }]])).await;
    // The admin, in staging, gives it a Slack app and starts a session there.
    assert_eq!(to_staging(&app.client).await, 303);
    let slack_form = [
        ("form[channel]", "C0STAGING1"),
        ("form[bot_token]", &["xoxb", "2222", "3333", "stagingtoken"].join("-")),
        ("form[signing_secret]", "fedcba9876543210fedcba9876543210"),
    ];
    let (status, saved) = app.call("slack/app/save", &slack_form).await;
    assert_eq!((status, saved["workspace"].as_str()), (200, Some("staging")), "{saved}");
    let session =
        asking_session(&app, "Staging agent", json!([[{ "tool": "bash", "input": { "command": "echo staging" } }]]))
            .await;

    // Carol's of the default's call, and one of Staging's.
    at_least(&sink, 2, "emails").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mails: Vec<Mail> = sink.lock().await.iter().filter(|m| m.text().contains(&session)).cloned().collect();
    assert_eq!(mails.len(), 1, "one email of staging's call: {:?}", mails.iter().map(|m| &m.to).collect::<Vec<_>>());
    assert_eq!(mails[0].to, ["bob@example.com"], "only the people who may decide in staging");
    assert!(mails[0].text().contains("Waiting for you in Staging"), "{}", mails[0].text());
    let link = mails[0].link_for("echo staging");
    assert!(link.contains("&workspace=staging"), "{link}");
    // Bob's browser chose the default workspace since: the link asks once (a link from another
    // site never switches silently), and one press opens the call in staging.
    let to_default = bob.post(format!("{}/auth/workspace", app.address)).form(&[("workspace", "default")]);
    assert_eq!(to_default.send().await.unwrap().status().as_u16(), 303);
    let asking = bob.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(asking.contains("Open this page in Staging?"), "{asking}");
    let next = link.trim_start_matches(&app.address).replace("&workspace=staging", "");
    let switched = bob
        .post(format!("{}/auth/workspace", app.address))
        .form(&[("workspace", "staging"), ("next", next.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status().as_u16(), 303);
    let (state, text) = open(&bob, &link).await;
    assert_eq!(state, "open", "{text}");

    let posted = slack.holding("chat.postMessage", &session, 1).await.remove(0);
    assert_eq!(posted["channel"], "C0STAGING1");
    let blocks = posted["blocks"].to_string();
    assert!(blocks.contains("&workspace=staging") && blocks.contains("\"staging sesn_"), "{blocks}");
    assert!(slack.of("chat.postMessage").iter().all(|p| p.to_string().contains(&session)), "nothing of the default's");
}
