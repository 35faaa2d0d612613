//! Outcomes: a `user.define_outcome` starts a turn toward it; when the turn ends, the grader
//! evaluates it (`span.outcome_evaluation_start`, `…_ongoing`, `…_end`). `needs_revision` plays
//! another turn and grades it again; past `max_iterations` the verdict is
//! `max_iterations_reached` and one final turn plays without evaluation; `satisfied` and
//! `failed` end it. The session's `outcome_evaluations` follow along. The scripted model's
//! grader says per iteration what it decides and why (`Script::grade`).

use serde_json::{Value, json};

use super::{Actor, Thread, Turn, script_of};
use crate::domain::outcomes::{OutcomeRun, evaluation};
use crate::{emitted, error::ApiResult, ids::now};

impl Actor {
    /// The outcome's evaluation shows that the agent works on it.
    pub(super) async fn outcome_running(&self) -> ApiResult<()> {
        let outcome = self.state.lock().expect("runtime state lock").outcome.clone();
        match outcome {
            Some(outcome) if !outcome.final_turn => self.set_evaluation(&outcome, "running", None, false).await,
            _ => Ok(()),
        }
    }

    /// After a turn toward an outcome ended well: the grader's verdict. Says whether another
    /// turn plays at once (a revision, or the final acknowledgement).
    pub(super) async fn graded_for_another_turn(&self, primary: &Thread) -> ApiResult<bool> {
        let Some(mut outcome) = self.state.lock().expect("runtime state lock").outcome.clone() else {
            return Ok(false);
        };
        if outcome.final_turn {
            self.state.lock().expect("runtime state lock").outcome = None;
            self.save().await?;
            return Ok(false);
        }
        let grade = script_of(&primary.agent).map(|script| script.grade(outcome.iteration as usize));
        let grade = grade.unwrap_or_else(|message| crate::script::Grade {
            result: "failed".to_owned(),
            explanation: message.to_string(),
        });
        self.set_evaluation(&outcome, "evaluating", None, false).await?;
        let (id, iteration) = (&outcome.outcome_id, outcome.iteration);
        let start = self.emit(emitted::outcome_evaluation_start(id, iteration)).await?;
        self.emit(emitted::outcome_evaluation_ongoing(id, iteration)).await?;
        let out_of_iterations = grade.result == "needs_revision" && iteration + 1 >= outcome.max_iterations;
        let result = if out_of_iterations { "max_iterations_reached" } else { grade.result.as_str() };
        // The grader's usage, estimated from text length as the scripted model's is.
        let usage = crate::model::stream::Usage {
            input_tokens: (outcome.description.len() / 4 + 16) as u64,
            output_tokens: (grade.explanation.len() / 4 + 1) as u64,
            ..Default::default()
        };
        let verdict = emitted::outcome_result(result);
        let usage = emitted::model_usage(&usage, None);
        self.emit(emitted::outcome_evaluation_end(&start, id, iteration, verdict, &grade.explanation, usage)).await?;
        let terminal = result != "needs_revision";
        self.set_evaluation(&outcome, result, Some(&grade.explanation), terminal).await?;
        match result {
            "needs_revision" => outcome.iteration += 1,
            "max_iterations_reached" => outcome.final_turn = true,
            _ => {
                self.state.lock().expect("runtime state lock").outcome = None;
                self.save().await?;
                return Ok(false);
            }
        }
        {
            let mut state = self.state.lock().expect("runtime state lock");
            state.turn = Some(Turn::new(state.messages as usize));
            state.messages += 1;
            state.outcome = Some(outcome);
        }
        self.save().await?;
        self.outcome_running().await?;
        Ok(true)
    }

    /// An interrupt while an outcome is worked on ends it as `interrupted`.
    pub(super) async fn outcome_interrupted(&self) -> ApiResult<()> {
        let outcome = self.state.lock().expect("runtime state lock").outcome.take();
        match outcome {
            Some(outcome) if !outcome.final_turn => {
                self.save().await?;
                self.set_evaluation(
                    &outcome,
                    "interrupted",
                    Some("The session was interrupted before the outcome was met."),
                    true,
                )
                .await
            }
            _ => Ok(()),
        }
    }

    /// Updates the outcome's entry in the session's `outcome_evaluations`.
    async fn set_evaluation(
        &self,
        outcome: &OutcomeRun,
        result: &str,
        explanation: Option<&str>,
        completed: bool,
    ) -> ApiResult<()> {
        let session = self.session().await?;
        let mut evaluations = session["outcome_evaluations"].as_array().cloned().unwrap_or_default();
        let entry = match evaluations.iter_mut().find(|e| e["outcome_id"] == outcome.outcome_id.as_str()) {
            Some(entry) => entry,
            None => {
                evaluations.push(evaluation(&outcome.outcome_id, &outcome.description));
                evaluations.last_mut().expect("just pushed")
            }
        };
        entry["iteration"] = json!(outcome.iteration);
        entry["result"] = json!(result);
        entry["explanation"] = json!(explanation);
        entry["completed_at"] = if completed { json!(now().text) } else { Value::Null };
        self.engine.store.set_outcome_evaluations(&self.session_id, &Value::Array(evaluations)).await?;
        Ok(())
    }
}
